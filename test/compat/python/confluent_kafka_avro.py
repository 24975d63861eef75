"""confluent-kafka 1.7.0's AvroProducer / AvroConsumer (confluent_kafka.avro: python3-avro, python3-requests)
against Tributary's schema registry, for the compatibility tests.

  confluent_kafka_avro.py produce BOOTSTRAP REGISTRY TOPIC SCHEMA   values: one JSON object per stdin line
  confluent_kafka_avro.py consume BOOTSTRAP REGISTRY TOPIC COUNT    read COUNT values from the beginning

produce prints {"produced": n, "errors": [...]}; consume prints {"values": [...]}.
"""
import json
import sys
import time

from confluent_kafka import OFFSET_BEGINNING, TopicPartition
from confluent_kafka import avro
from confluent_kafka.avro import AvroConsumer, AvroProducer


def produce(bootstrap, registry, topic, schema_text):
    schema = avro.loads(schema_text)
    producer = AvroProducer({'bootstrap.servers': bootstrap, 'schema.registry.url': registry}, default_value_schema=schema)
    errors = []
    count = 0

    def report(err, _msg):
        if err is not None:
            errors.append(str(err))

    for line in sys.stdin:
        if line.strip():
            try:
                producer.produce(topic=topic, value=json.loads(line), callback=report)
                count += 1
            except Exception as e:  # the registry refused the schema (e.g. 409 incompatible)
                errors.append('%s: %s' % (type(e).__name__, e))
                break
    producer.flush(30)
    print(json.dumps({'produced': count, 'errors': errors}))


def consume(bootstrap, registry, topic, count):
    consumer = AvroConsumer({
        'bootstrap.servers': bootstrap, 'schema.registry.url': registry,
        'group.id': 'tributary-compat-avro', 'enable.auto.commit': False,
    })
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    values = []
    deadline = time.time() + 30
    try:
        while len(values) < count and time.time() < deadline:
            msg = consumer.poll(1.0)
            if msg is None:
                continue
            if msg.error() is not None:
                raise SystemExit('consume: %s' % msg.error())
            values.append(msg.value())
    finally:
        consumer.close()
    print(json.dumps({'values': values}))


def main():
    mode, bootstrap, registry, topic = sys.argv[1:5]
    if mode == 'produce':
        produce(bootstrap, registry, topic, sys.argv[5])
    else:
        consume(bootstrap, registry, topic, int(sys.argv[5]))


if __name__ == '__main__':
    main()
