"""kafka-python 2.0.2 producer CLI for the compatibility tests.

  kafka_python_produce.py BOOTSTRAP TOPIC COMPRESSION [PARTITION] < records.json

stdin: [{"key": str, "value": str, "headers": [[str, str]], "timestamp": ms?}, ...]
stdout: [{"partition": int, "offset": int}, ...] in input order (the broker's acknowledgements).
COMPRESSION is none, gzip, snappy, lz4 or zstd.
"""
import json
import sys

from kafka import KafkaProducer


def main():
    bootstrap, topic, compression = sys.argv[1], sys.argv[2], sys.argv[3]
    partition = int(sys.argv[4]) if len(sys.argv) > 4 else None
    records = json.load(sys.stdin)
    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        client_id='tributary-compat',
        acks='all',
        compression_type=None if compression == 'none' else compression,
        # Several records per request, so batches really hold more than one record.
        linger_ms=20,
        request_timeout_ms=10000,
        max_block_ms=10000,
    )
    try:
        futures = [
            producer.send(
                topic,
                key=r['key'].encode(),
                value=r['value'].encode(),
                headers=[(k, v.encode()) for k, v in r['headers']],
                partition=partition,
                timestamp_ms=r.get('timestamp'),
            )
            for r in records
        ]
        producer.flush(timeout=20)
        acks = []
        for future in futures:
            meta = future.get(timeout=20)
            acks.append({'partition': meta.partition, 'offset': meta.offset})
    finally:
        producer.close(timeout=10)
    json.dump(acks, sys.stdout)


if __name__ == '__main__':
    main()
