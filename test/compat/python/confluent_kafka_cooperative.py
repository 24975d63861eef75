"""confluent-kafka (librdkafka) cooperative-sticky group CLI for the compatibility tests (prints one JSON object).

  confluent_kafka_cooperative.py BOOTSTRAP TOPIC GROUP PARTITIONS COUNT

Produces COUNT records (round-robin over PARTITIONS), then two consumers with
partition.assignment.strategy=cooperative-sticky join GROUP and read until they split the partitions and
have read every record; COUNT more records are produced and a third consumer joins; all three read until
the partitions are split three ways and every record has been read. Each consumer commits synchronously
after every record, and again in its revoke callback when that failed (a commit racing a rebalance is
REBALANCE_IN_PROGRESS or ILLEGAL_GENERATION), so a partition that moves is resumed exactly where it was left.

Prints {"protocol": ..., "before": {name: [partitions]}, "after": {...}, "events": [[name, "assign"|"revoke"|"lost"|...,
[partitions], phase]], "consumed": [[name, partition, offset, value]]}.
"""
import json
import os
import sys
import time
import traceback

from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition

TIMEOUT_S = 60


def main():
    bootstrap, topic, group, partitions, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    producer = Producer({'bootstrap.servers': bootstrap, 'client.id': 'tributary-compat'})

    def produce(first, n):
        for i in range(first, first + n):
            producer.produce(topic, value=('v-%d' % i).encode(), partition=i % partitions)
        if producer.flush(30) != 0:
            raise SystemExit('produce did not complete')

    phase = ['join']
    events = []
    owned = {}
    consumed = []
    consumers = {}
    pending = {}  # name -> {partition: next offset not yet committed}

    def commit(name, c, only=None):
        offsets = [TopicPartition(topic, p, o) for p, o in pending[name].items() if only is None or p in only]
        if not offsets:
            return True
        try:
            c.commit(offsets=offsets, asynchronous=False)
        except KafkaException as e:
            # A commit racing a rebalance: REBALANCE_IN_PROGRESS while the group completes a join, or
            # ILLEGAL_GENERATION when the generation moved on between the client stamping the commit and the
            # coordinator reading it (Kafka answers the same). The offsets stay pending and go with the next
            # commit; failures in the revoke callback and ILLEGAL_GENERATION are recorded.
            code = e.args[0].code()
            if code not in (KafkaError.REBALANCE_IN_PROGRESS, KafkaError.ILLEGAL_GENERATION, KafkaError.UNKNOWN_MEMBER_ID):
                raise
            if code != KafkaError.REBALANCE_IN_PROGRESS:
                # librdkafka then rejoins treating its assignment as lost (revoke, then assign again); the
                # commit in the revoke callback of a lost assignment is UNKNOWN_MEMBER_ID.
                events.append([name, 'commit-stale', sorted(tp.partition for tp in offsets), phase[0]])
            return False
        for tp in offsets:
            if pending[name].get(tp.partition) == tp.offset:
                del pending[name][tp.partition]
        return True

    def make(name):
        c = Consumer({
            'bootstrap.servers': bootstrap, 'group.id': group, 'client.id': name,
            'partition.assignment.strategy': 'cooperative-sticky', 'auto.offset.reset': 'earliest',
            'enable.auto.commit': False, 'session.timeout.ms': 10000, 'heartbeat.interval.ms': 300,
        })
        owned[name] = set()
        pending[name] = {}

        def on_assign(consumer, tps):
            ps = sorted(tp.partition for tp in tps)
            owned[name].update(ps)
            events.append([name, 'assign', ps, phase[0]])

        def on_revoke(consumer, tps):
            ps = sorted(tp.partition for tp in tps)
            if not commit(name, consumer, ps):
                events.append([name, 'commit-failed', ps, phase[0]])
            for p in ps:
                pending[name].pop(p, None)
            owned[name].difference_update(ps)
            events.append([name, 'revoke', ps, phase[0]])

        def on_lost(consumer, tps):
            # The assignment was lost (librdkafka after ILLEGAL_GENERATION / UNKNOWN_MEMBER_ID): nothing to
            # commit, the partitions may already belong to another member.
            ps = sorted(tp.partition for tp in tps)
            for p in ps:
                pending[name].pop(p, None)
            owned[name].difference_update(ps)
            events.append([name, 'lost', ps, phase[0]])

        c.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke, on_lost=on_lost)
        consumers[name] = c
        return c

    def run_until(done, what):
        deadline = time.monotonic() + TIMEOUT_S
        while not done():
            if time.monotonic() > deadline:
                raise SystemExit('timed out waiting for %s: owned=%r consumed=%d events=%r' % (what, owned, len(consumed), events))
            for name, c in consumers.items():
                m = c.poll(0.05)
                if m is None:
                    continue
                if m.error() is not None:
                    raise SystemExit('%s: %s' % (name, m.error()))
                consumed.append([name, m.partition(), m.offset(), m.value().decode()])
                pending[name][m.partition()] = m.offset() + 1
                commit(name, c)

    def unique():
        # Records read at least once (a member whose assignment was lost may read some twice).
        return len({v for (_, _, _, v) in consumed})

    def split(n):
        sets = [owned[name] for name in consumers]
        union = set().union(*sets)
        return (union == set(range(partitions)) and sum(len(s) for s in sets) == partitions
                and all(len(s) >= partitions // n for s in sets))

    produce(0, count)
    make('c1')
    make('c2')
    run_until(lambda: split(2) and unique() >= count, 'two consumers to split the partitions')
    before = {name: sorted(s) for name, s in owned.items()}
    protocol = consumers['c1'].rebalance_protocol() if hasattr(consumers['c1'], 'rebalance_protocol') else None

    phase[0] = 'third'
    make('c3')
    produce(count, count)
    run_until(lambda: split(3) and unique() >= 2 * count, 'three consumers to split the partitions')
    after = {name: sorted(s) for name, s in owned.items()}
    phase[0] = 'close'
    for c in consumers.values():
        c.close()
    print(json.dumps({'protocol': protocol, 'before': before, 'after': after, 'events': events, 'consumed': consumed}))


if __name__ == '__main__':
    try:
        main()
    except BaseException:  # noqa: B036 - exit at once: unclosed librdkafka consumers would hold the process
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)
