/**
 * A KafkaStreams application in its own process, for the kill -9 tests: counts the records of `input` per key
 * (a changelogged store) and writes every new count to `output`. Prints "RUNNING" once it runs; runs until killed
 * or sent SIGTERM (then closes cleanly).
 *   node dist/test/helpers/streams-count-app.js <bootstrap> <application.id> <state.dir> <guarantee> <input> <output> [commit.interval.ms] [memory|persistent] [num.standby.replicas] [transaction.timeout.ms] [statestore.cache.max.bytes]
 *   (an empty argument takes the default)
 */
import { Consumed, KafkaStreams, Materialized, Produced, Serdes, Stores, StreamsBuilder } from '../../src/streams/index.js';

const [bootstrap, applicationId, stateDir, guarantee, input, output, commitMs, storeType, standbys, txnTimeoutMs, cacheBytes] = process.argv.slice(2);
if (!output) {
  process.stderr.write('usage: streams-count-app <bootstrap> <application.id> <state.dir> <at_least_once|exactly_once_v2> <input> <output>\n');
  process.exit(2);
}
const S = Serdes.String();
const b = new StreamsBuilder();
const store = storeType === 'persistent' ? Stores.persistentKeyValueStore('counts') : Stores.inMemoryKeyValueStore('counts');
b.stream(input, Consumed.with(S, S)).groupByKey().count(Materialized.as<string, number>(store)).toStream().to(output, Produced.with(S, Serdes.Long()));
const app = new KafkaStreams(b.build(), {
  'application.id': applicationId,
  'bootstrap.servers': bootstrap,
  'state.dir': stateDir,
  'processing.guarantee': guarantee as 'at_least_once' | 'exactly_once_v2',
  'commit.interval.ms': Number(commitMs ?? 100),
  'session.timeout.ms': 2000,
  'heartbeat.interval.ms': 100,
  'replication.factor': 1,
  'num.standby.replicas': Number(standbys || 0),
  ...(txnTimeoutMs ? { 'transaction.timeout.ms': Number(txnTimeoutMs) } : {}),
  ...(cacheBytes === undefined || cacheBytes === '' ? {} : { 'statestore.cache.max.bytes': Number(cacheBytes) }),
});
app.setStateListener((s) => {
  process.stdout.write(`${s}\n`);
});
app.setUncaughtExceptionHandler((err) => {
  process.stderr.write(`streams-count-app failed: ${err.stack ?? err.message}\n`);
  process.exit(1);
});
process.once('SIGTERM', () => {
  void app.close().then(() => process.exit(0));
});
await app.start();
