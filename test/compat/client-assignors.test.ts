/**
 * The client-side assignors against kafka-python 2.0.2 (Debian's python3-kafka): the consumer
 * protocol bytes both ways, the eager sticky assignor's user data both ways, and range/roundrobin
 * assignments computed by kafka-python's own assignors on the same random groups.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  decodeAssignment, decodeStickyUserData, decodeSubscription, encodeAssignment, encodeStickyUserData, encodeSubscription,
  RangeAssignor, RoundRobinAssignor, type MemberSubscription, type TopicPartition,
} from '../../src/client/assignors/index.js';
import { runJson } from './support/processes.js';
import { PYTHON } from './support/python-suite.js';

const SCRIPT = `
import json, sys
from kafka.coordinator.protocol import ConsumerProtocolMemberMetadata, ConsumerProtocolMemberAssignment
from kafka.coordinator.assignors.range import RangePartitionAssignor
from kafka.coordinator.assignors.roundrobin import RoundRobinPartitionAssignor
from kafka.coordinator.assignors.sticky.sticky_assignor import StickyAssignorUserDataV1

req = json.load(sys.stdin)
out = {}

class Cluster:
    def __init__(self, ppt):
        self.ppt = ppt
    def partitions_for_topic(self, topic):
        n = self.ppt.get(topic)
        return None if n is None else set(range(n))

def flat(assignment):
    return {m: [[t, p] for t, ps in a.assignment for p in ps] for m, a in assignment.items()}

out['groups'] = []
for g in req['groups']:
    metadata = {m: ConsumerProtocolMemberMetadata(0, topics, b'') for m, topics in g['members'].items()}
    cluster = Cluster(g['ppt'])
    out['groups'].append({
        'range': flat(RangePartitionAssignor.assign(cluster, metadata)),
        'roundrobin': flat(RoundRobinPartitionAssignor.assign(cluster, metadata)),
    })

s = req['subscription']
# Struct.encode holds its instance weakly: keep a reference while encoding.
theirs = ConsumerProtocolMemberMetadata(0, s['topics'], bytes.fromhex(s['userData']))
out['subscription'] = theirs.encode().hex()
decoded = ConsumerProtocolMemberMetadata.decode(bytes.fromhex(req['oursSubscription']))
out['decodedSubscription'] = {'version': decoded.version, 'topics': decoded.subscription, 'userData': decoded.user_data.hex()}

a = req['assignment']
theirs = ConsumerProtocolMemberAssignment(0, [(t, ps) for t, ps in a['partitions']], bytes.fromhex(a['userData']))
out['assignment'] = theirs.encode().hex()
decoded = ConsumerProtocolMemberAssignment.decode(bytes.fromhex(req['oursAssignment']))
out['decodedAssignment'] = {'version': decoded.version, 'partitions': [[tp.topic, tp.partition] for tp in decoded.partitions()], 'userData': decoded.user_data.hex()}

u = req['sticky']
theirs = StickyAssignorUserDataV1([(t, ps) for t, ps in u['partitions']], u['generation'])
out['sticky'] = theirs.encode().hex()
decoded = StickyAssignorUserDataV1.decode(bytes.fromhex(req['oursSticky']))
out['decodedSticky'] = {'partitions': [[t, p] for t, ps in decoded.previous_assignment for p in ps], 'generation': decoded.generation}

json.dump(out, sys.stdout)
`;

interface Group { ppt: Record<string, number>; members: Record<string, string[]> }
interface PyOut {
  groups: Array<{ range: Record<string, Array<[string, number]>>; roundrobin: Record<string, Array<[string, number]>> }>;
  subscription: string;
  decodedSubscription: { version: number; topics: string[]; userData: string };
  assignment: string;
  decodedAssignment: { version: number; partitions: Array<[string, number]>; userData: string };
  sticky: string;
  decodedSticky: { partitions: Array<[string, number]>; generation: number };
}

const TOPICS = ['alpha', 'beta', 'gamma', 'delta'];
const groupArb: fc.Arbitrary<Group> = fc.record({
  sizes: fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 4, maxLength: 4 }),
  ids: fc.uniqueArray(fc.stringMatching(/^[a-z0-9-]{1,6}$/), { minLength: 1, maxLength: 6 }),
  masks: fc.array(fc.integer({ min: 1, max: 15 }), { minLength: 6, maxLength: 6 }),
}).map(({ sizes, ids, masks }) => ({
  ppt: Object.fromEntries(TOPICS.map((t, i) => [t, sizes[i]])),
  members: Object.fromEntries(ids.map((id, i) => [id, TOPICS.filter((_, k) => masks[i] & (1 << k))])),
}));

const pairs = (list: TopicPartition[]): Array<[string, number]> => list.map((x) => [x.topic, x.partition]);
const sortPairs = (list: Array<[string, number]>): Array<[string, number]> =>
  [...list].sort(([a, p], [b, q]) => (a < b ? -1 : a > b ? 1 : p - q));

test('kafka-python agrees on range and roundrobin assignments and on the consumer protocol bytes', async () => {
  const groups = fc.sample(groupArb, { numRuns: 60, seed: 20261122 });
  const oursSubscription = encodeSubscription({ topics: ['zeta', 'eta'], userData: Buffer.from('ours'), ownedPartitions: [{ topic: 'eta', partition: 1 }], generationId: 4, rackId: 'r1' });
  const oursAssignment = encodeAssignment([{ topic: 'eta', partition: 2 }, { topic: 'eta', partition: 0 }, { topic: 'zeta', partition: 5 }], Buffer.from('xy'), 0);
  const oursSticky = encodeStickyUserData([{ topic: 'eta', partition: 3 }, { topic: 'zeta', partition: 1 }], 11);
  const py = await runJson<PyOut>(PYTHON, ['-c', SCRIPT], {
    timeoutMs: 30_000,
    input: JSON.stringify({
      groups,
      subscription: { topics: ['a', 'bb'], userData: '0102' },
      oursSubscription: oursSubscription.toString('hex'),
      assignment: { partitions: [['t', [0, 3]], ['u', [1]]], userData: '' },
      oursAssignment: oursAssignment.toString('hex'),
      sticky: { partitions: [['t', [2, 0]], ['u', [7]]], generation: 6 },
      oursSticky: oursSticky.toString('hex'),
    }),
  });

  groups.forEach((g, i) => {
    const members: MemberSubscription[] = Object.entries(g.members).map(([memberId, topics]) => ({
      memberId, groupInstanceId: null, topics, ownedPartitions: [], generationId: -1, rackId: null, userData: null,
    }));
    const ppt = new Map(Object.entries(g.ppt));
    for (const [name, assignor] of [['range', new RangeAssignor()], ['roundrobin', new RoundRobinAssignor()]] as const) {
      const ours = Object.fromEntries([...assignor.assign(ppt, members)].map(([m, list]) => [m, sortPairs(pairs(list))]));
      const theirs = Object.fromEntries(Object.entries(py.groups[i][name]).map(([m, list]) => [m, sortPairs(list)]));
      assert.deepEqual(ours, theirs, `${name} on group ${JSON.stringify(g)}`);
    }
  });

  // kafka-python's v0 bytes decode here, and it reads the topics and user data of our v3 bytes.
  assert.deepEqual(decodeSubscription(Buffer.from(py.subscription, 'hex')),
    { version: 0, topics: ['a', 'bb'], userData: Buffer.from([1, 2]), ownedPartitions: [], generationId: -1, rackId: null });
  assert.deepEqual(py.decodedSubscription, { version: 3, topics: ['eta', 'zeta'], userData: Buffer.from('ours').toString('hex') });
  assert.deepEqual(decodeAssignment(Buffer.from(py.assignment, 'hex')),
    { version: 0, partitions: [{ topic: 't', partition: 0 }, { topic: 't', partition: 3 }, { topic: 'u', partition: 1 }], userData: Buffer.alloc(0) });
  assert.deepEqual(py.decodedAssignment, { version: 0, partitions: [['eta', 2], ['eta', 0], ['zeta', 5]], userData: '7879' });
  assert.deepEqual(decodeStickyUserData(Buffer.from(py.sticky, 'hex')),
    { partitions: [{ topic: 't', partition: 2 }, { topic: 't', partition: 0 }, { topic: 'u', partition: 7 }], generation: 6 });
  assert.deepEqual(py.decodedSticky, { partitions: [['eta', 3], ['zeta', 1]], generation: 11 });
});
