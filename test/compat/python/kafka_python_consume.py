"""kafka-python 2.0.2 consumer CLI for the compatibility tests: no consumer group, assign() only.

  kafka_python_consume.py BOOTSTRAP TOPIC                 read every partition from the beginning
  kafka_python_consume.py BOOTSTRAP TOPIC PARTITION TS    offsets_for_times(TS) on one partition, read from there

Reads up to the end offsets taken before reading began and prints
{"start": {partition: offset|null}, "end": {partition: offset},
 "records": [{"partition", "offset", "key", "value", "headers", "timestamp"}]}.
"""
import json
import sys
import time

from kafka import KafkaConsumer, TopicPartition


def text(b):
    return None if b is None else b.decode()


def main():
    bootstrap, topic = sys.argv[1], sys.argv[2]
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        client_id='tributary-compat',
        group_id=None,
        enable_auto_commit=False,
        request_timeout_ms=15000,
    )
    try:
        if len(sys.argv) > 3:
            tps = [TopicPartition(topic, int(sys.argv[3]))]
            consumer.assign(tps)
            found = consumer.offsets_for_times({tps[0]: int(sys.argv[4])})
            start = {}
            for tp in tps:
                hit = found.get(tp)
                start[tp.partition] = None if hit is None else hit.offset
                if hit is not None:
                    consumer.seek(tp, hit.offset)
                else:
                    consumer.seek_to_end(tp)
        else:
            partitions = consumer.partitions_for_topic(topic)
            if not partitions:
                raise SystemExit('no partitions for ' + topic)
            tps = [TopicPartition(topic, p) for p in sorted(partitions)]
            consumer.assign(tps)
            consumer.seek_to_beginning(*tps)
            start = {tp.partition: off for tp, off in consumer.beginning_offsets(tps).items()}
        end = consumer.end_offsets(tps)
        records = []
        deadline = time.monotonic() + 30
        while any(consumer.position(tp) < end[tp] for tp in tps):
            if time.monotonic() > deadline:
                raise SystemExit('timed out at ' + repr({tp.partition: consumer.position(tp) for tp in tps}))
            for tp, batch in consumer.poll(timeout_ms=500).items():
                for m in batch:
                    records.append({
                        'partition': m.partition, 'offset': m.offset, 'key': text(m.key), 'value': text(m.value),
                        'headers': [[k, text(v)] for k, v in m.headers], 'timestamp': m.timestamp,
                    })
    finally:
        consumer.close()
    json.dump({'start': start, 'end': {tp.partition: o for tp, o in end.items()}, 'records': records}, sys.stdout)


if __name__ == '__main__':
    main()
