"""kafka-python 2.0.2 admin CLI for the compatibility tests: prints one JSON document on stdout.

  kafka_python_admin.py BOOTSTRAP metadata
  kafka_python_admin.py BOOTSTRAP create TOPIC PARTITIONS [REPLICATION_FACTOR]
  kafka_python_admin.py BOOTSTRAP delete TOPIC
  kafka_python_admin.py BOOTSTRAP describe TOPIC     (partitions with leader, replicas and ISR)
"""
import json
import sys

from kafka.admin import KafkaAdminClient, NewTopic
from kafka.errors import for_code


def error_name(code):
    return None if code == 0 else for_code(code).__name__


def main():
    bootstrap, command = sys.argv[1], sys.argv[2]
    # api_version is left unset: the client negotiates it from ApiVersions.
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id='tributary-compat', request_timeout_ms=10000)
    try:
        if command == 'metadata':
            cluster = admin.describe_cluster()
            topics = admin.describe_topics()
            result = {
                'brokers': [{'node_id': b['node_id'], 'host': b['host'], 'port': b['port']} for b in cluster['brokers']],
                'topics': [
                    {'name': t['topic'], 'error': error_name(t['error_code']),
                     'partitions': sorted(p['partition'] for p in t['partitions'])}
                    for t in topics
                ],
            }
        elif command == 'create':
            topic, partitions = sys.argv[3], int(sys.argv[4])
            replication = int(sys.argv[5]) if len(sys.argv) > 5 else 1
            response = admin.create_topics([NewTopic(topic, num_partitions=partitions, replication_factor=replication)], timeout_ms=10000)
            result = {'version': response.API_VERSION,
                      'errors': [{'topic': e[0], 'error': error_name(e[1])} for e in response.topic_errors]}
        elif command == 'describe':
            topics = admin.describe_topics([sys.argv[3]])
            result = {'topics': [
                {'name': t['topic'], 'error': error_name(t['error_code']),
                 'partitions': sorted(({'partition': p['partition'], 'leader': p['leader'], 'replicas': sorted(p['replicas']),
                                        'isr': sorted(p['isr'])} for p in t['partitions']), key=lambda p: p['partition'])}
                for t in topics]}
        elif command == 'delete':
            response = admin.delete_topics([sys.argv[3]], timeout_ms=10000)
            result = {'version': response.API_VERSION,
                      'errors': [{'topic': e[0], 'error': error_name(e[1])} for e in response.topic_error_codes]}
        else:
            raise SystemExit('unknown command ' + command)
    finally:
        admin.close()
    json.dump(result, sys.stdout)


if __name__ == '__main__':
    main()
