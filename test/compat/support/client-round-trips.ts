/**
 * The produce-three-then-consume-them round trip the security compat tests (SSL, SASL, OAUTHBEARER) run with
 * each client: Python scripts for confluent-kafka and kafka-python taking the client's settings as JSON, and
 * kafkajs's consume loop. Each client produces `<client>-0..2` and reads them back from the beginning.
 */
import type { Kafka } from 'kafkajs';
import { run } from './processes.js';
import { PYTHON } from './python-suite.js';

export interface RoundTripScript {
  /** Python run once `conf` (confluent-kafka) or `cfg` (kafka-python) holds the JSON settings; `args` is argv[4:]. */
  readonly prelude?: string;
  /** A Python expression over `got` (the values read) printed as JSON; default `sorted(got)`. */
  readonly result?: string;
}

/** confluent-kafka: argv bootstrap, topic, settings JSON, then `args`. */
export function confluentRoundTrip({ prelude = '', result = 'sorted(got)' }: RoundTripScript = {}): string {
  return `
import sys, json
from confluent_kafka import Producer, Consumer
bootstrap, topic, args = sys.argv[1], sys.argv[2], sys.argv[4:]
conf = {'bootstrap.servers': bootstrap, **json.loads(sys.argv[3])}
${prelude}
p = Producer(conf)
for i in range(3):
    p.produce(topic, value=b'confluent-%d' % i)
assert p.flush(15) == 0
c = Consumer({**conf, 'group.id': 'confluent-' + topic, 'auto.offset.reset': 'earliest'})
c.subscribe([topic])
got = []
for _ in range(60):
    m = c.poll(0.5)
    if m is not None and m.error() is None:
        got.append(m.value().decode())
    if len(got) >= 3:
        break
c.close()
print(json.dumps(${result}))
`;
}

/** kafka-python: argv bootstrap, topic, settings JSON, then `args`. */
export function kafkaPythonRoundTrip({ prelude = '', result = 'sorted(got)' }: RoundTripScript = {}): string {
  return `
import sys, json
from kafka import KafkaProducer, KafkaConsumer
bootstrap, topic, args = sys.argv[1], sys.argv[2], sys.argv[4:]
cfg = dict(bootstrap_servers=bootstrap, **json.loads(sys.argv[3]))
${prelude}
p = KafkaProducer(acks='all', request_timeout_ms=10000, **cfg)
for i in range(3):
    p.send(topic, value=b'kafka-python-%d' % i).get(timeout=15)
p.close()
c = KafkaConsumer(topic, auto_offset_reset='earliest', consumer_timeout_ms=10000, **cfg)
got = []
for m in c:
    got.append(m.value.decode())
    if len(got) >= 3:
        break
c.close()
print(json.dumps(${result}))
`;
}

/** Runs a round-trip script against `bootstrap` and parses the JSON it printed last. */
export async function runRoundTrip<T = string[]>(script: string, bootstrap: string, topic: string, settings: object, args: readonly string[] = []): Promise<T> {
  const out = await run(PYTHON, ['-c', script, bootstrap, topic, JSON.stringify(settings), ...args], { timeoutMs: 60_000 });
  return JSON.parse(out.stdout.trim().split('\n').pop()!) as T;
}

/** kafkajs: reads `count` values of `topic` from the beginning (a fresh group), or fails after `timeoutMs`. */
export async function consumeValues(kafka: Kafka, topic: string, count: number, timeoutMs = 20_000): Promise<string[]> {
  const consumer = kafka.consumer({ groupId: `g-${topic}` });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const got: string[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out with ${got.length} of ${count}: ${JSON.stringify(got)}`)), timeoutMs);
      void consumer.run({ eachMessage: async ({ message }) => {
        got.push(message.value!.toString());
        if (got.length === count) { clearTimeout(timer); resolve(); }
      } });
    });
  } finally {
    await consumer.disconnect();
  }
  return got;
}
