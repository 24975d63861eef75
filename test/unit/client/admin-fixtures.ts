/**
 * What the admin and CLI tests share: an in-process broker, producing records, and group members held
 * open over the raw protocol (a classic consumer-protocol member via JoinGroup/SyncGroup, a KIP-848
 * member via ConsumerGroupHeartbeat) so a test needs no Producer/Consumer and no Debian packages.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker } from '../../../src/index.js';
import { Connection } from '../../../src/client/connection.js';
import { ProduceRequest } from '../../../src/protocol/generated/produce-request.js';
import { ProduceResponse } from '../../../src/protocol/generated/produce-response.js';
import { JoinGroupRequest } from '../../../src/protocol/generated/join-group-request.js';
import { JoinGroupResponse } from '../../../src/protocol/generated/join-group-response.js';
import { SyncGroupRequest } from '../../../src/protocol/generated/sync-group-request.js';
import { SyncGroupResponse } from '../../../src/protocol/generated/sync-group-response.js';
import { LeaveGroupRequest } from '../../../src/protocol/generated/leave-group-request.js';
import { LeaveGroupResponse } from '../../../src/protocol/generated/leave-group-response.js';
import { ConsumerGroupHeartbeatRequest } from '../../../src/protocol/generated/consumer-group-heartbeat-request.js';
import { ConsumerGroupHeartbeatResponse } from '../../../src/protocol/generated/consumer-group-heartbeat-response.js';
import { ConsumerProtocolAssignment } from '../../../src/protocol/generated/consumer-protocol-assignment.js';
import { ConsumerProtocolSubscription } from '../../../src/protocol/generated/consumer-protocol-subscription.js';
import { ErrorCode } from '../../../src/protocol/generated/error-codes.js';
import { Writer } from '../../../src/protocol/primitives/writer.js';
import { Admin } from '../../../src/client/admin.js';
import { buildRecordBatch } from '../../../src/protocol/records/record.js';

export interface TestBroker {
  address: string;
  close(): Promise<void>;
}

/** A broker with 3 partitions per auto/default topic and no initial rebalance delay (tests join groups). */
export async function openBroker(config: Record<string, string> = {}): Promise<TestBroker> {
  const dataDir = await mkdtemp(join(tmpdir(), 'tributary-admin-'));
  const broker = await startBroker({
    host: '127.0.0.1', port: 0, dataDir, logLevel: 'silent',
    config: { 'num.partitions': '3', 'group.initial.rebalance.delay.ms': '0', ...config },
  });
  return {
    address: broker.address,
    async close() {
      await broker.close();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** openBroker() plus a connected Admin and the broker's node id: what the CLI and admin tests start with. */
export async function openBrokerWithAdmin(config: Record<string, string> = {}): Promise<{ broker: TestBroker; admin: Admin; node: number }> {
  const broker = await openBroker(config);
  const admin = new Admin({ bootstrapServers: broker.address, retries: 1, retryBackoffMs: 10 });
  await admin.connect();
  return { broker, admin, node: (await admin.describeCluster()).brokers[0]!.nodeId };
}

async function connect(address: string): Promise<Connection> {
  const i = address.lastIndexOf(':');
  return Connection.connect(address.slice(0, i), Number(address.slice(i + 1)), { clientId: 'admin-test' });
}

/** Appends one batch of string values to a partition (acks=all); returns the base offset. */
export async function produce(address: string, topic: string, partition: number, values: string[], timestamp?: number): Promise<number> {
  const conn = await connect(address);
  try {
    const res = await conn.send(ProduceRequest, ProduceResponse, {
      acks: -1,
      timeoutMs: 5000,
      topicData: [{ name: topic, partitionData: [{ index: partition, records: buildRecordBatch(values.map((v) => ({ key: null, value: Buffer.from(v), timestamp }))) }] }],
    });
    const p = res.responses[0].partitionResponses[0];
    if (p.errorCode !== 0) throw new Error(`produce to ${topic}-${partition} failed with error ${p.errorCode}`);
    return Number(p.baseOffset);
  } finally {
    conn.close();
  }
}

function encodeData<T>(codec: { encode(w: Writer, v: number, value: T): void }, version: number, value: T): Buffer {
  const w = new Writer();
  w.writeInt16(version);
  codec.encode(w, version, value);
  return w.toBuffer();
}

export interface HeldMember {
  memberId: string;
  leave(): Promise<void>;
}

/**
 * Joins a classic group as the only member (protocol 'range'), assigns itself `assignment`, and stays
 * a member (session 30 s) until leave().
 */
export async function joinClassicMember(address: string, groupId: string, topics: string[], assignment: Array<{ topic: string; partition: number }>, clientId = 'held-member'): Promise<HeldMember> {
  const i = address.lastIndexOf(':');
  const conn = await Connection.connect(address.slice(0, i), Number(address.slice(i + 1)), { clientId });
  const join = (memberId: string): Promise<JoinGroupResponse> => conn.send(JoinGroupRequest, JoinGroupResponse, {
    groupId, sessionTimeoutMs: 30_000, rebalanceTimeoutMs: 10_000, memberId, groupInstanceId: null, protocolType: 'consumer',
    protocols: [{ name: 'range', metadata: encodeData(ConsumerProtocolSubscription, 0, { topics }) }],
  });
  let res = await join('');
  if (res.errorCode === ErrorCode.MEMBER_ID_REQUIRED) res = await join(res.memberId);
  if (res.errorCode !== 0) throw new Error(`JoinGroup failed with error ${res.errorCode}`);
  const byTopic = new Map<string, number[]>();
  for (const tp of assignment) byTopic.set(tp.topic, [...(byTopic.get(tp.topic) ?? []), tp.partition]);
  const sync = await conn.send(SyncGroupRequest, SyncGroupResponse, {
    groupId, generationId: res.generationId, memberId: res.memberId, groupInstanceId: null, protocolType: 'consumer', protocolName: 'range',
    assignments: [{ memberId: res.memberId, assignment: encodeData(ConsumerProtocolAssignment, 0, { assignedPartitions: [...byTopic].map(([topic, partitions]) => ({ topic, partitions })) }) }],
  });
  if (sync.errorCode !== 0) throw new Error(`SyncGroup failed with error ${sync.errorCode}`);
  const memberId = res.memberId;
  return {
    memberId,
    async leave() {
      await conn.send(LeaveGroupRequest, LeaveGroupResponse, { groupId, memberId, members: [{ memberId, groupInstanceId: null }] });
      conn.close();
    },
  };
}

/** Joins a KIP-848 consumer group with ConsumerGroupHeartbeat until the server assigns partitions (bounded). */
export async function joinConsumerMember(address: string, groupId: string, topics: string[]): Promise<HeldMember & { assigned: number }> {
  const conn = await connect(address);
  let memberId = `fixture-${groupId}`; // v1 (KIP-1082): the client chooses its member id
  let memberEpoch = 0;
  let assigned = 0;
  for (let attempt = 0; attempt < 20 && assigned === 0; attempt++) {
    const res = await conn.send(ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse, {
      groupId, memberId, memberEpoch, instanceId: null, rackId: null, rebalanceTimeoutMs: 10_000,
      subscribedTopicNames: memberEpoch === 0 ? topics : null, serverAssignor: null, topicPartitions: memberEpoch === 0 ? [] : null,
    });
    if (res.errorCode !== 0) throw new Error(`ConsumerGroupHeartbeat failed with error ${res.errorCode} ${res.errorMessage ?? ''}`);
    memberId = res.memberId ?? memberId;
    memberEpoch = res.memberEpoch;
    assigned = res.assignment?.topicPartitions.reduce((n, t) => n + t.partitions.length, 0) ?? 0;
    if (assigned === 0) await new Promise((r) => setTimeout(r, 50));
  }
  return {
    memberId,
    assigned,
    async leave() {
      await conn.send(ConsumerGroupHeartbeatRequest, ConsumerGroupHeartbeatResponse, { groupId, memberId, memberEpoch: -1, subscribedTopicNames: null, topicPartitions: null });
      conn.close();
    },
  };
}
