"""confluent-kafka (librdkafka) load for the cluster fault tests: an idempotent acks=all producer writing
numbered values for a while, with a bounded number awaiting their delivery report.

  confluent_kafka_fault_load.py BOOTSTRAP TOPIC PREFIX SECONDS [MAX_IN_FLIGHT]

Values are PREFIX-0, PREFIX-1, ... sent round-robin over the topic's partitions. After SECONDS it stops sending,
waits for every delivery report (message.timeout.ms bounds that) and prints one JSON object:
{"acked": [[partition, offset, value], ...], "failed": {error name: count}, "sent": n}.
"""
import json
import sys
import time

from confluent_kafka import Producer


def main():
    bootstrap, topic, prefix, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    window = int(sys.argv[5]) if len(sys.argv) > 5 else 200
    producer = Producer({
        'bootstrap.servers': bootstrap,
        'client.id': 'fault-load-librdkafka',
        'acks': 'all',
        'enable.idempotence': True,
        'linger.ms': 2,
        'message.timeout.ms': 30000,
        'retry.backoff.ms': 100,
        'topic.metadata.refresh.interval.ms': 1000,
    })
    partitions = len(producer.list_topics(topic, timeout=10).topics[topic].partitions)
    acked = []
    failed = {}
    pending = [0]

    def on_delivery(err, msg):
        pending[0] -= 1
        if err is not None:
            failed[err.name()] = failed.get(err.name(), 0) + 1
        else:
            acked.append([msg.partition(), msg.offset(), msg.value().decode('utf-8')])

    sent = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        while pending[0] >= window and time.monotonic() < deadline:
            producer.poll(0.05)
        if time.monotonic() >= deadline:
            break
        value = '%s-%d' % (prefix, sent)
        producer.produce(topic, value=value.encode('utf-8'), partition=sent % partitions, on_delivery=on_delivery)
        pending[0] += 1
        sent += 1
        producer.poll(0)
    producer.flush(40)
    print(json.dumps({'acked': acked, 'failed': failed, 'sent': sent, 'unreported': pending[0]}))


if __name__ == '__main__':
    main()
