"""kafka-python 2.0.2 consumer-group CLI for the compatibility tests (prints one JSON object).

  kafka_python_group.py split BOOTSTRAP TOPIC GROUP MEMBERS TOTAL
      MEMBERS consumers (one thread each) subscribe; waits until they split the partitions and have read
      TOTAL records between them, describes the group with the admin client, closes member 0 (LeaveGroup)
      and waits until the rest cover every partition again.
  kafka_python_group.py commit BOOTSTRAP TOPIC GROUP COUNT
      one consumer takes the first COUNT records it receives, commits exactly past them, exits.
      COUNT -1: reads up to the end offsets (taken once assigned) and commits nothing.
  kafka_python_group.py admin BOOTSTRAP GROUP
      list_consumer_groups, describe_consumer_groups and list_consumer_group_offsets.
"""
import json
import sys
import threading
import time

from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition
from kafka.structs import OffsetAndMetadata

TIMEOUT_S = 40


def consumer(bootstrap, group, client_id, **extra):
    config = dict(
        bootstrap_servers=bootstrap, group_id=group, client_id=client_id, auto_offset_reset='earliest',
        enable_auto_commit=False, session_timeout_ms=6000, heartbeat_interval_ms=300, request_timeout_ms=15000)
    config.update(extra)
    return KafkaConsumer(**config)


def wait_for(cond, what, state=lambda: None):
    deadline = time.monotonic() + TIMEOUT_S
    while not cond():
        if time.monotonic() > deadline:
            raise SystemExit('timed out waiting for %s: %r' % (what, state()))
        time.sleep(0.05)


def describe(bootstrap, group):
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id='tributary-admin')
    try:
        out = []
        for g in admin.describe_consumer_groups([group]):
            out.append({
                'group': g.group, 'state': g.state, 'protocol_type': g.protocol_type, 'protocol': g.protocol,
                'members': sorted([{
                    'client_id': m.client_id,
                    'topics': sorted(m.member_metadata.subscription) if m.member_metadata else [],
                    'assignment': sorted(p for _, ps in m.member_assignment.assignment for p in ps) if m.member_assignment else [],
                } for m in g.members], key=lambda m: m['client_id']),
            })
        return out
    finally:
        admin.close()


def split(bootstrap, topic, group, members, total):
    stop = [threading.Event() for _ in range(members)]
    assignment = [None] * members
    seen = [set() for _ in range(members)]
    errors = []

    def run(i):
        try:
            c = consumer(bootstrap, group, 'member-%d' % i, enable_auto_commit=True, auto_commit_interval_ms=200)
            c.subscribe([topic])
            while not stop[i].is_set():
                for tp, batch in c.poll(timeout_ms=100).items():
                    for m in batch:
                        seen[i].add((m.partition, m.offset))
                assignment[i] = sorted(tp.partition for tp in c.assignment())
            assignment[i] = None
            c.close()
        except Exception as e:  # reported in the output, the test fails on it
            errors.append(repr(e))

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(members)]
    for t in threads:
        t.start()

    def split_among(live):
        parts = [assignment[i] for i in live]
        if any(not p for p in parts):
            return False
        flat = [p for ps in parts for p in ps]
        return len(flat) == len(set(flat)) and len(flat) >= 1

    def all_read():
        return len(set().union(*seen)) >= total

    debug = lambda: {'assignment': assignment, 'read': len(set().union(*seen)), 'errors': errors}
    wait_for(lambda: split_among(range(members)) and all_read() and not errors, 'the members to split the partitions', debug)
    before = [list(a) for a in assignment]
    described = describe(bootstrap, group)
    stop[0].set()
    threads[0].join(TIMEOUT_S)
    live = range(1, members)
    wait_for(lambda: split_among(live) and sorted(p for i in live for p in assignment[i]) == sorted(p for a in before for p in a),
             'the remaining members to take over', debug)
    after = [list(assignment[i]) for i in live]
    for i in live:
        stop[i].set()
    for t in threads:
        t.join(TIMEOUT_S)
    consumed = sorted(set().union(*seen))
    return {'before': before, 'after': after, 'described': described, 'consumed': consumed, 'errors': errors}


def commit(bootstrap, topic, group, count):
    c = consumer(bootstrap, group, 'committer')
    c.subscribe([topic])
    taken = []
    try:
        wait_for(lambda: c.poll(timeout_ms=100) is not None and c.assignment(), 'an assignment')
        # The poll above may have returned records: start again from the committed positions.
        committed = {}
        for tp in c.assignment():
            off = c.committed(tp)
            committed[tp.partition] = off
            if off is None:
                c.seek_to_beginning(tp)
            else:
                c.seek(tp, off)
        end = c.end_offsets(list(c.assignment()))
        deadline = time.monotonic() + TIMEOUT_S

        def done():
            if count >= 0:
                return len(taken) >= count
            return all(c.position(tp) >= end[tp] for tp in c.assignment())

        while not done():
            if time.monotonic() > deadline:
                raise SystemExit('timed out reading')
            for tp, batch in c.poll(timeout_ms=200).items():
                for m in batch:
                    if count < 0 or len(taken) < count:
                        taken.append({'partition': m.partition, 'offset': m.offset, 'value': m.value.decode()})
        commits = {}
        if count >= 0:
            for r in taken:
                commits[r['partition']] = max(commits.get(r['partition'], 0), r['offset'] + 1)
            c.commit({TopicPartition(topic, p): OffsetAndMetadata(o, 'kafka-python') for p, o in commits.items()})
    finally:
        c.close(autocommit=False)
    return {'committed_before': committed, 'records': taken, 'commits': commits}


def admin(bootstrap, group):
    a = KafkaAdminClient(bootstrap_servers=bootstrap, client_id='tributary-admin')
    try:
        listed = sorted([list(g) for g in a.list_consumer_groups()])
        offsets = a.list_consumer_group_offsets(group)
        return {
            'listed': listed,
            'described': describe(bootstrap, group),
            'offsets': sorted([[tp.topic, tp.partition, om.offset, om.metadata] for tp, om in offsets.items()]),
        }
    finally:
        a.close()


def main():
    cmd, bootstrap = sys.argv[1], sys.argv[2]
    if cmd == 'split':
        out = split(bootstrap, sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]))
    elif cmd == 'commit':
        out = commit(bootstrap, sys.argv[3], sys.argv[4], int(sys.argv[5]))
    elif cmd == 'admin':
        out = admin(bootstrap, sys.argv[3])
    else:
        raise SystemExit('unknown command ' + cmd)
    json.dump(out, sys.stdout)


if __name__ == '__main__':
    main()
