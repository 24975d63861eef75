"""confluent-kafka (librdkafka) idempotent producer CLI for the compatibility tests.

  confluent_kafka_produce_idempotent.py BOOTSTRAP TOPIC COMPRESSION < records.json

enable.idempotence=True (acks=all, up to 5 requests in flight per connection, sequence numbers on every
batch); small batches so that several are in flight at once.
stdin: [{"key": str, "value": str, "headers": [[str, str]]}, ...]
stdout: [{"partition": int, "offset": int}, ...] in input order (from the delivery reports).
"""
import json
import sys

from confluent_kafka import Producer


def main():
    bootstrap, topic, compression = sys.argv[1], sys.argv[2], sys.argv[3]
    records = json.load(sys.stdin)
    producer = Producer({
        'bootstrap.servers': bootstrap,
        'client.id': 'tributary-compat-idempotent',
        'enable.idempotence': True,
        'compression.codec': compression,
        'linger.ms': 5,
        'batch.num.messages': 7,
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
        producer.produce(topic, key=r['key'].encode(), value=r['value'].encode(),
                         headers=[(k, v.encode()) for k, v in r['headers']], on_delivery=report(i))
        producer.poll(0)
    left = producer.flush(20)
    if left or errors:
        raise SystemExit('undelivered: %d, errors: %s' % (left, errors[:5]))
    json.dump(acks, sys.stdout)


if __name__ == '__main__':
    main()
