"""kafka-python 2.0.2 group member driven over stdin, for the coordinator failover test: one consumer of GROUP
(classic protocol, no auto commit, one record per poll so that what it commits is exactly what it took) stays
in the group across commands; each command prints one JSON line.

  kafka_python_failover.py BOOTSTRAP TOPIC GROUP
  stdin: "read N"    take the next N records, then commit (synchronously) the positions past them
                     -> {"records": [[partition, offset, value]], "committed": {partition: offset}}
         "committed" -> {"committed": {partition: offset}} (the group's offsets, fetched from its coordinator)
         "quit"      -> leaves the group, exits
"""
import json
import sys
import time

from kafka import KafkaConsumer, TopicPartition

TIMEOUT_S = 60


def main():
    bootstrap, topic, group = sys.argv[1], sys.argv[2], sys.argv[3]
    c = KafkaConsumer(
        bootstrap_servers=bootstrap, group_id=group, client_id='tributary-failover', auto_offset_reset='earliest',
        enable_auto_commit=False, max_poll_records=1, session_timeout_ms=10000, heartbeat_interval_ms=300,
        request_timeout_ms=15000, retry_backoff_ms=100, metadata_max_age_ms=2000)
    c.subscribe([topic])
    partitions = None

    def committed():
        out = {}
        for p in partitions:
            off = c.committed(TopicPartition(topic, p))
            if off is not None:
                out[p] = off
        return out

    try:
        for line in sys.stdin:
            cmd = line.split()
            if not cmd:
                continue
            if partitions is None:
                partitions = sorted(c.partitions_for_topic(topic) or [])
            if cmd[0] == 'read':
                n = int(cmd[1])
                taken = []
                deadline = time.monotonic() + TIMEOUT_S
                while len(taken) < n:
                    if time.monotonic() > deadline:
                        raise SystemExit('timed out: took %d of %d' % (len(taken), n))
                    for tp, batch in c.poll(timeout_ms=200).items():
                        for m in batch:
                            taken.append([m.partition, m.offset, m.value.decode()])
                c.commit()  # synchronous; retries (and finds the coordinator again) on retriable errors
                out = {'records': taken, 'committed': committed()}
            elif cmd[0] == 'committed':
                out = {'committed': committed()}
            elif cmd[0] == 'quit':
                break
            else:
                raise SystemExit('unknown command %r' % cmd)
            sys.stdout.write(json.dumps(out) + '\n')
            sys.stdout.flush()
    finally:
        c.close(autocommit=False)


if __name__ == '__main__':
    main()
