"""confluent-kafka (librdkafka) producer CLI for the compatibility tests.

  confluent_kafka_produce.py BOOTSTRAP TOPIC COMPRESSION [PARTITION] < records.json

stdin: [{"key": str, "value": str, "headers": [[str, str]], "timestamp": ms?}, ...]
stdout: [{"partition": int, "offset": int}, ...] in input order (from the delivery reports).
"""
import json
import sys

from confluent_kafka import Producer


def main():
    bootstrap, topic, compression = sys.argv[1], sys.argv[2], sys.argv[3]
    partition = int(sys.argv[4]) if len(sys.argv) > 4 else None
    records = json.load(sys.stdin)
    producer = Producer({
        'bootstrap.servers': bootstrap,
        'client.id': 'tributary-compat',
        'acks': 'all',
        'enable.idempotence': False,
        'compression.codec': compression,
        'linger.ms': 20,
        'message.timeout.ms': 20000,
    })
    acks = [None] * len(records)
    errors = []

    def report(index):
        def on_delivery(err, msg):
            if err is not None:
                errors.append('%d: %s' % (index, err))
            else:
                acks[index] = {'partition': msg.partition(), 'offset': msg.offset()}
        return on_delivery

    for i, r in enumerate(records):
        kwargs = {'key': r['key'].encode(), 'value': r['value'].encode(),
                  'headers': [(k, v.encode()) for k, v in r['headers']], 'on_delivery': report(i)}
        if partition is not None:
            kwargs['partition'] = partition
        if r.get('timestamp') is not None:
            kwargs['timestamp'] = r['timestamp']
        producer.produce(topic, **kwargs)
        producer.poll(0)
    left = producer.flush(20)
    if left or errors:
        raise SystemExit('undelivered: %d, errors: %s' % (left, errors[:5]))
    json.dump(acks, sys.stdout)


if __name__ == '__main__':
    main()
