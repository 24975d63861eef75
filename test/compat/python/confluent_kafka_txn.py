"""confluent-kafka (librdkafka) transactions CLI for the compatibility tests (prints one JSON object).

  confluent_kafka_txn.py BOOTSTRAP ctp IN OUT GROUP TXID COUNT BATCH ABORT_EVERY
      Produces COUNT records to IN (record i to partition i % partitions(IN), plain producer), then runs a
      consume-transform-produce loop: a read_committed group consumer (no auto commit) reads IN in batches of
      up to BATCH records; each batch becomes one transaction of a producer with transactional.id TXID that
      writes "<value>|t<n>" (n = transaction number) to the same partition of OUT and sends the consumer's
      positions with its group metadata. Transaction n is aborted when n % ABORT_EVERY == ABORT_EVERY - 1,
      and the consumer is rewound to the batch's first offsets, so the batch is done again in the next one.
      Prints {"txns": [{"n", "outcome", "inputs": [[partition, offset, value]], "sent": {p: offset},
      "committed": {p: offset}}], "final": {p: offset}} where "committed" is the group's committed offsets
      right after the transaction ended.
  confluent_kafka_txn.py BOOTSTRAP read TOPIC ISOLATION
      Reads every partition of TOPIC from the beginning with isolation.level=ISOLATION (assign(), no group)
      until each partition reports its end. Prints {"records": [[partition, offset, value]]}.
  confluent_kafka_txn.py BOOTSTRAP fence TOPIC TXID
      Producer 1 (TXID) begins a transaction and writes "p1-open"; producer 2 with the same TXID calls
      init_transactions, which must fence producer 1; producer 1 then writes "p1-late" and tries to commit;
      producer 2 commits "p2". Prints {"p1_error": {"name", "fatal", "retriable", "abortable"} | null,
      "p2_committed": bool}.
"""
import json
import os
import sys
import time
import traceback

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer, TopicPartition

TIMEOUT_S = 60


def partitions_of(client, topic):
    md = client.list_topics(topic, timeout=10)
    t = md.topics[topic]
    if t.error is not None:
        raise SystemExit('metadata for %s: %s' % (topic, t.error))
    return sorted(t.partitions.keys())


def offsets_dict(tps):
    out = {}
    for tp in tps:
        if tp.error is not None:
            raise SystemExit('offset of %s/%d: %s' % (tp.topic, tp.partition, tp.error))
        out[tp.partition] = tp.offset
    return out


def ctp(bootstrap, src, dst, group, txid, count, batch, abort_every):
    plain = Producer({'bootstrap.servers': bootstrap, 'client.id': 'tributary-compat'})
    src_partitions = partitions_of(plain, src)
    for i in range(count):
        plain.produce(src, value=('in-%d' % i).encode(), key=('k-%d' % i).encode(), partition=i % len(src_partitions))
    if plain.flush(30) != 0:
        raise SystemExit('input produce did not complete')

    consumer = Consumer({
        'bootstrap.servers': bootstrap, 'client.id': 'tributary-compat-ctp', 'group.id': group,
        'isolation.level': 'read_committed', 'enable.auto.commit': False, 'auto.offset.reset': 'earliest',
        'session.timeout.ms': 10000, 'heartbeat.interval.ms': 500,
    })
    producer = Producer({'bootstrap.servers': bootstrap, 'client.id': 'tributary-compat-txn', 'transactional.id': txid})
    try:
        producer.init_transactions(30)
        consumer.subscribe([src])
        txns = []
        done = set()  # input values whose transformation was committed
        n = 0
        deadline = time.monotonic() + TIMEOUT_S
        while len(done) < count:
            if time.monotonic() > deadline:
                raise SystemExit('timed out: %d of %d inputs committed; txns=%r' % (len(done), count, txns))
            msgs = consumer.consume(batch, 0.5)
            for m in msgs:
                if m.error() is not None:
                    raise SystemExit('consume: %s' % m.error())
            if not msgs:
                continue
            abort = n % abort_every == abort_every - 1
            producer.begin_transaction()
            for m in msgs:
                producer.produce(dst, key=m.key(), value=m.value() + (b'|t%d' % n), partition=m.partition())
            positions = consumer.position(consumer.assignment())
            producer.send_offsets_to_transaction(positions, consumer.consumer_group_metadata(), 30)
            if abort:
                # Written first: abort_transaction purges records still queued in the client, and the test
                # must see the broker keep aborted records out of read_committed, not the client drop them.
                if producer.flush(30) != 0:
                    raise SystemExit('transaction %d: produce did not complete' % n)
                producer.abort_transaction(30)
                first = {}
                for m in msgs:
                    first.setdefault(m.partition(), m.offset())
                for p, o in first.items():
                    consumer.seek(TopicPartition(src, p, o))
            else:
                producer.commit_transaction(30)
                done.update(m.value().decode() for m in msgs)
            committed = offsets_dict(consumer.committed([TopicPartition(src, p) for p in src_partitions], timeout=10))
            txns.append({
                'n': n, 'outcome': 'abort' if abort else 'commit',
                'inputs': [[m.partition(), m.offset(), m.value().decode()] for m in msgs],
                'sent': offsets_dict(positions), 'committed': committed,
            })
            n += 1
        final = offsets_dict(consumer.committed([TopicPartition(src, p) for p in src_partitions], timeout=10))
        return {'txns': txns, 'final': final}
    finally:
        consumer.close()


def read(bootstrap, topic, isolation):
    consumer = Consumer({
        'bootstrap.servers': bootstrap, 'client.id': 'tributary-compat-read', 'group.id': 'tributary-compat-unused',
        'isolation.level': isolation, 'enable.auto.commit': False, 'enable.auto.offset.store': False,
        'enable.partition.eof': True,
    })
    try:
        partitions = partitions_of(consumer, topic)
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        at_end = set()
        records = []
        deadline = time.monotonic() + TIMEOUT_S
        while len(at_end) < len(partitions):
            if time.monotonic() > deadline:
                raise SystemExit('timed out reading %s: at end %r, %d records' % (topic, at_end, len(records)))
            m = consumer.poll(0.5)
            if m is None:
                continue
            if m.error() is not None:
                if m.error().code() == KafkaError._PARTITION_EOF:
                    at_end.add(m.partition())
                    continue
                raise SystemExit('read: %s' % m.error())
            at_end.discard(m.partition())
            records.append([m.partition(), m.offset(), m.value().decode()])
        return {'records': records}
    finally:
        consumer.close()


def error_of(e):
    err = e.args[0]
    return {'name': err.name(), 'fatal': err.fatal(), 'retriable': err.retriable(), 'abortable': err.txn_requires_abort()}


def fence(bootstrap, topic, txid):
    p1 = Producer({'bootstrap.servers': bootstrap, 'client.id': 'tributary-compat-p1', 'transactional.id': txid})
    p1.init_transactions(30)
    p1.begin_transaction()
    p1.produce(topic, value=b'p1-open', partition=0)
    if p1.flush(30) != 0:
        raise SystemExit('p1 produce did not complete')

    p2 = Producer({'bootstrap.servers': bootstrap, 'client.id': 'tributary-compat-p2', 'transactional.id': txid})
    p2.init_transactions(30)

    p1_error = None
    try:
        p1.produce(topic, value=b'p1-late', partition=0)
        p1.flush(30)
        p1.commit_transaction(30)
    except KafkaException as e:
        p1_error = error_of(e)

    p2.begin_transaction()
    p2.produce(topic, value=b'p2', partition=0)
    p2.commit_transaction(30)
    return {'p1_error': p1_error, 'p2_committed': True}


def main():
    bootstrap, command, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    if command == 'ctp':
        out = ctp(bootstrap, args[0], args[1], args[2], args[3], int(args[4]), int(args[5]), int(args[6]))
    elif command == 'read':
        out = read(bootstrap, args[0], args[1])
    elif command == 'fence':
        out = fence(bootstrap, args[0], args[1])
    else:
        raise SystemExit('unknown command %s' % command)
    print(json.dumps(out))
    sys.stdout.flush()


if __name__ == '__main__':
    try:
        main()
    except BaseException:  # noqa: B036 - exit at once: a wedged librdkafka client would hold the process
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)
    # Skip librdkafka's destructors (a fenced producer may linger); the JSON is already out.
    os._exit(0)
