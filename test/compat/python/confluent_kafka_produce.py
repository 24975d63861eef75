"""confluent-kafka (librdkafka) producer CLI for the compatibility tests.

  confluent_kafka_produce.py [--idempotent] BOOTSTRAP TOPIC COMPRESSION [PARTITION] < records.json
--idempotent: enable.idempotence=True (acks=all, up to 5 requests in flight per connection, sequence numbers on
every batch), with small batches so that several are in flight at once.

stdin: [{"key": str, "value": str, "headers": [[str, str]], "timestamp": ms?}, ...]
stdout: [{"partition": int, "offset": int}, ...] in input order (from the delivery reports).
"""
import json
import sys

from confluent_kafka import Producer


def main():
    idempotent = '--idempotent' in sys.argv
    args = [a for a in sys.argv[1:] if a != '--idempotent']
    bootstrap, topic, compression = args[0], args[1], args[2]
    partition = int(args[3]) if len(args) > 3 else None
    records = json.load(sys.stdin)
    producer = Producer({
        'bootstrap.servers': bootstrap,
        'client.id': 'tributary-compat-idempotent' if idempotent else 'tributary-compat',
        'acks': 'all',
        'enable.idempotence': idempotent,
        'compression.codec': compression,
        'linger.ms': 5 if idempotent else 20,
        'batch.num.messages': 7 if idempotent else 10000,
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
