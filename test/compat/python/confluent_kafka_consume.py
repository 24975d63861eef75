"""confluent-kafka (librdkafka) consumer CLI for the compatibility tests: assign() only, nothing committed.

  confluent_kafka_consume.py BOOTSTRAP TOPIC                 read every partition from the beginning
  confluent_kafka_consume.py BOOTSTRAP TOPIC PARTITION TS    offsets_for_times(TS) on one partition, read from there

Prints {"start": {partition: offset|null}, "end": {partition: offset}, "records": [...]}.
"""
import json
import sys
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition


def text(b):
    return None if b is None else b.decode()


def main():
    bootstrap, topic = sys.argv[1], sys.argv[2]
    consumer = Consumer({
        'bootstrap.servers': bootstrap,
        'client.id': 'tributary-compat',
        # The client refuses to start without one; with assign() and no commits it is never used for a group.
        'group.id': 'tributary-compat-unused',
        'enable.auto.commit': False,
        'enable.auto.offset.store': False,
    })
    try:
        if len(sys.argv) > 3:
            wanted = [TopicPartition(topic, int(sys.argv[3]), int(sys.argv[4]))]
            found = consumer.offsets_for_times(wanted, timeout=10)
            start = {}
            for tp in found:
                if tp.error is not None:
                    raise SystemExit('offsets_for_times: %s' % tp.error)
                start[tp.partition] = None if tp.offset < 0 else tp.offset
            tps = found
        else:
            md = consumer.list_topics(topic, timeout=10)
            partitions = sorted(md.topics[topic].partitions.keys())
            tps = [TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions]
            start = {}
            for p in partitions:
                low, _ = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
                start[p] = low
        end = {}
        for tp in tps:
            _, high = consumer.get_watermark_offsets(TopicPartition(topic, tp.partition), timeout=10)
            end[tp.partition] = high
        consumer.assign(tps)
        position = {tp.partition: (start[tp.partition] if start[tp.partition] is not None else end[tp.partition]) for tp in tps}
        records = []
        deadline = time.monotonic() + 30
        while any(position[p] < end[p] for p in position):
            if time.monotonic() > deadline:
                raise SystemExit('timed out at %r of %r' % (position, end))
            m = consumer.poll(0.5)
            if m is None:
                continue
            if m.error() is not None:
                raise SystemExit('consume error: %s' % m.error())
            records.append({
                'partition': m.partition(), 'offset': m.offset(), 'key': text(m.key()), 'value': text(m.value()),
                'headers': [[k, text(v)] for k, v in (m.headers() or [])], 'timestamp': m.timestamp()[1],
            })
            position[m.partition()] = m.offset() + 1
    finally:
        consumer.close()
    json.dump({'start': start, 'end': end, 'records': records}, sys.stdout)


if __name__ == '__main__':
    main()
