/**
 * Broker-to-broker requests other than replication: today the transaction coordinator's WriteTxnMarkers to the
 * leader of a partition on another broker (Kafka's TransactionMarkerChannelManager). One connection per broker,
 * opened on first use, reopened after an error; the caller retries (the transaction coordinator retries a failed
 * marker, and the leader may have moved meanwhile).
 */
import { Connection, type SaslOptions, type SslOptions } from '../client/connection.js';

/** TLS settings for connections to other brokers (the client's, re-exported for src/server). */
export type { SaslOptions, SslOptions };
import { KafkaError } from '../errors.js';
import { ErrorCode, errorCodeName } from '../protocol/generated/error-codes.js';
import { WriteTxnMarkersRequest } from '../protocol/generated/write-txn-markers-request.js';
import { WriteTxnMarkersResponse } from '../protocol/generated/write-txn-markers-response.js';
import { ProduceRequest } from '../protocol/generated/produce-request.js';
import { ProduceResponse } from '../protocol/generated/produce-response.js';

export interface BrokerAddress {
  nodeId: number;
  host: string;
  port: number;
}

export interface RemoteTxnMarker {
  producerId: bigint;
  producerEpoch: number;
  coordinatorEpoch: number;
  commit: boolean;
}


export class InterBrokerChannels {
  private readonly conns = new Map<number, Promise<Connection>>();
  private closed = false;

  constructor(private readonly nodeId: number, private readonly requestTimeoutMs = 30_000, private readonly ssl?: SslOptions, private readonly purpose = 'txn-markers', private readonly sasl?: SaslOptions) {}

  private connection(to: BrokerAddress): Promise<Connection> {
    if (this.closed) return Promise.reject(new Error('inter-broker channels are closed'));
    let c = this.conns.get(to.nodeId);
    if (!c) {
      c = Connection.connect(to.host, to.port, { clientId: `broker-${this.nodeId}-${this.purpose}`, connectTimeoutMs: 5000, requestTimeoutMs: this.requestTimeoutMs, ssl: this.ssl, sasl: this.sasl });
      this.conns.set(to.nodeId, c);
      c.then(
        (conn) => conn.onClose(() => {
          if (this.conns.get(to.nodeId) === c) this.conns.delete(to.nodeId);
        }),
        () => {
          if (this.conns.get(to.nodeId) === c) this.conns.delete(to.nodeId);
        },
      );
    }
    return c;
  }

  /** Writes one marker to topic-partition at its leader `to`; rejects with the partition's KafkaError if refused. */
  async writeTxnMarker(to: BrokerAddress, topic: string, partition: number, marker: RemoteTxnMarker): Promise<void> {
    const conn = await this.connection(to);
    const res = await conn.send(WriteTxnMarkersRequest, WriteTxnMarkersResponse, {
      markers: [{
        producerId: marker.producerId,
        producerEpoch: marker.producerEpoch,
        transactionResult: marker.commit,
        topics: [{ name: topic, partitionIndexes: [partition] }],
        coordinatorEpoch: marker.coordinatorEpoch,
      }],
    });
    const code = res.markers[0]?.topics[0]?.partitions[0]?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR;
    if (code !== ErrorCode.NONE) {
      const name = errorCodeName(code) ?? 'UNKNOWN_SERVER_ERROR';
      throw new KafkaError(name, `broker ${to.nodeId} refused the transaction marker for ${topic}-${partition}: ${name}`);
    }
  }

  /** Appends one record batch to topic-partition at its leader `to` (Produce, acks=all): the audit topic's writes. */
  async produce(to: BrokerAddress, topic: string, partition: number, batch: Buffer): Promise<void> {
    const conn = await this.connection(to);
    const res = await conn.send(ProduceRequest, ProduceResponse, {
      transactionalId: null,
      acks: -1,
      timeoutMs: this.requestTimeoutMs,
      topicData: [{ name: topic, partitionData: [{ index: partition, records: batch }] }],
    });
    const code = res.responses[0]?.partitionResponses[0]?.errorCode ?? ErrorCode.UNKNOWN_SERVER_ERROR;
    if (code !== ErrorCode.NONE) {
      const name = errorCodeName(code) ?? 'UNKNOWN_SERVER_ERROR';
      throw new KafkaError(name, `broker ${to.nodeId} refused the append to ${topic}-${partition}: ${name}`);
    }
  }

  close(): void {
    this.closed = true;
    for (const c of this.conns.values()) c.then((conn) => conn.close(), () => undefined);
    this.conns.clear();
  }
}
