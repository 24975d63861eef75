"""confluent-kafka 1.7.0's SerializingProducer / DeserializingConsumer with its JSONSerializer / JSONDeserializer
(confluent_kafka.schema_registry: the newer registry client; python3-jsonschema) against Tributary's registry.

  confluent_kafka_json_schema.py produce BOOTSTRAP REGISTRY TOPIC SCHEMA   values: one JSON object per stdin line
  confluent_kafka_json_schema.py consume BOOTSTRAP REGISTRY TOPIC SCHEMA COUNT

produce prints {"produced": n, "errors": [...]}; consume prints {"values": [...]}.
"""
import json
import sys
import time

from confluent_kafka import OFFSET_BEGINNING, DeserializingConsumer, SerializingProducer, TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer


def as_dict(value, _ctx):
    return value


def produce(bootstrap, registry, topic, schema):
    client = SchemaRegistryClient({'url': registry})
    producer = SerializingProducer({'bootstrap.servers': bootstrap, 'value.serializer': JSONSerializer(schema, client, as_dict)})
    errors = []
    count = 0

    def report(err, _msg):
        if err is not None:
            errors.append(str(err))

    for line in sys.stdin:
        if line.strip():
            try:
                producer.produce(topic=topic, value=json.loads(line), on_delivery=report)
                count += 1
            except Exception as e:  # invalid document or refused schema
                errors.append('%s: %s' % (type(e).__name__, e))
                break
    producer.flush(30)
    print(json.dumps({'produced': count, 'errors': errors}))


def consume(bootstrap, topic, schema, count):
    consumer = DeserializingConsumer({
        'bootstrap.servers': bootstrap, 'group.id': 'tributary-compat-json', 'enable.auto.commit': False,
        'value.deserializer': JSONDeserializer(schema, from_dict=as_dict),
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
    mode, bootstrap, registry, topic, schema = sys.argv[1:6]
    if mode == 'produce':
        produce(bootstrap, registry, topic, schema)
    else:
        consume(bootstrap, topic, schema, int(sys.argv[6]))


if __name__ == '__main__':
    main()
