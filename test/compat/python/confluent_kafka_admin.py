"""confluent-kafka (librdkafka) admin CLI for the compatibility tests: prints one JSON document.

  confluent_kafka_admin.py BOOTSTRAP metadata
  confluent_kafka_admin.py BOOTSTRAP create TOPIC PARTITIONS
  confluent_kafka_admin.py BOOTSTRAP delete TOPIC
"""
import json
import sys

from confluent_kafka.admin import AdminClient, NewTopic


def main():
    bootstrap, command = sys.argv[1], sys.argv[2]
    admin = AdminClient({'bootstrap.servers': bootstrap, 'client.id': 'tributary-compat'})
    if command == 'metadata':
        md = admin.list_topics(timeout=10)
        result = {
            'cluster_id': md.cluster_id,
            'controller_id': md.controller_id,
            'brokers': [{'node_id': b.id, 'host': b.host, 'port': b.port} for b in md.brokers.values()],
            'topics': [
                {'name': t.topic, 'error': None if t.error is None else t.error.name(),
                 'partitions': sorted(t.partitions.keys())}
                for t in md.topics.values()
            ],
        }
    elif command in ('create', 'delete'):
        topic = sys.argv[3]
        if command == 'create':
            futures = admin.create_topics([NewTopic(topic, num_partitions=int(sys.argv[4]), replication_factor=1)], operation_timeout=10)
        else:
            futures = admin.delete_topics([topic], operation_timeout=10)
        errors = []
        for name, future in futures.items():
            try:
                future.result(timeout=15)
                errors.append({'topic': name, 'error': None})
            except Exception as e:  # the KafkaException carries the broker's error name
                error = e.args[0] if e.args else e
                errors.append({'topic': name, 'error': error.name() if hasattr(error, 'name') else type(error).__name__, 'message': str(error)})
        result = {'errors': errors}
    else:
        raise SystemExit('unknown command ' + command)
    json.dump(result, sys.stdout)


if __name__ == '__main__':
    main()
