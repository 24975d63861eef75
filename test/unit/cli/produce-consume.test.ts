/**
 * `tributary produce` and `tributary consume` as a user runs them: the compiled CLI in a child
 * process against an in-process broker.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestBroker, type TestBroker } from '../../compat/support/broker.js';
import { CLI_ENTRY, runCli, type CliResult } from '../../helpers/cli.js';
import { csvFileRecords } from '../../../src/connect/sources/csv.js';

interface JsonRecord {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
  key: string | null;
  value: string | null;
  headers: Array<{ key: string; value: string | null }>;
  keyEncoding?: string;
  valueEncoding?: string;
}

const jsonLines = (stdout: string): JsonRecord[] => stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as JsonRecord);

/** A `tributary consume … --follow` child: its output so far, its exit, and a SIGKILL after 15 s should it hang. */
function followChild(args: string[]): { child: ReturnType<typeof spawn>; out: () => string; err: () => string; exited: Promise<[number | null]>; done: () => void } {
  const child = spawn(process.execPath, [CLI_ENTRY, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = once(child, 'exit') as Promise<[number | null]>;
  const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  return { child, out: () => out, err: () => err, exited, done: () => clearTimeout(killer) };
}

function ok(r: CliResult): CliResult {
  assert.equal(r.code, 0, `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  return r;
}

describe('produce and consume', () => {
  let address: string;
  let broker: TestBroker;
  before(async () => {
    // No initial rebalance delay: a one-member group gets its assignment at once.
    broker = await startTestBroker({ 'group.initial.rebalance.delay.ms': '0' });
    address = broker.address;
  });
  after(async () => {
    await broker?.close();
  });

  const cli = (args: string[], input?: string): Promise<CliResult> => runCli([...args, '-b', address], { input, timeoutMs: 20_000 });

  test('stdin with keys and headers, then --format and --json print exactly what was sent', async () => {
    const before = Date.now();
    const produced = ok(await cli(['produce', '-t', 'kv', '-p', '0', '-K', ':', '-H', 'src=cli', '-H', 'n=1'], 'k1:hello\nk2:wor:ld\n\nno-key\n'));
    assert.match(produced.stderr, /^Produced 3 records to kv in \d+\.\d\d s \(\d+ msg\/s, \d+\.\d\d MiB\/s\)$/m);

    const formatted = ok(await cli(['consume', '-t', 'kv', '-f', '%t|%p|%o|%k|%s|%K|%S|%h\\n']));
    assert.equal(formatted.stdout, 'kv|0|0|k1|hello|2|5|src=cli,n=1\nkv|0|1|k2|wor:ld|2|6|src=cli,n=1\nkv|0|2||no-key|-1|6|src=cli,n=1\n');
    assert.match(formatted.stderr, /^Processed a total of 3 messages$/m);

    const json = jsonLines(ok(await cli(['consume', '-t', 'kv', '--json'])).stdout);
    const headers = [{ key: 'src', value: 'cli' }, { key: 'n', value: '1' }];
    assert.deepEqual(json.map(({ timestamp: _t, ...r }) => r), [
      { topic: 'kv', partition: 0, offset: 0, key: 'k1', value: 'hello', headers },
      { topic: 'kv', partition: 0, offset: 1, key: 'k2', value: 'wor:ld', headers },
      { topic: 'kv', partition: 0, offset: 2, key: null, value: 'no-key', headers },
    ]);
    for (const r of json) assert.ok(r.timestamp >= before && r.timestamp <= Date.now(), `timestamp ${r.timestamp}`);

    // Default output: the value per line, as kafka-console-consumer prints it.
    assert.equal(ok(await cli(['consume', '-t', 'kv'])).stdout, 'hello\nwor:ld\nno-key\n');
  });

  test('--format json and --format csv input files', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tributary-cli-input-'));
    try {
      const jsonFile = join(dir, 'in.jsonl');
      await writeFile(jsonFile, '{"key":"a","value":{"n":1},"headers":{"h":"x"}}\n{"value":"plain","partition":1}\n');
      ok(await cli(['produce', '-t', 'json-in', '--file', jsonFile, '--format', 'json', '-p', '2']));
      const json = jsonLines(ok(await cli(['consume', '-t', 'json-in', '--json'])).stdout).sort((a, b) => a.partition - b.partition);
      assert.deepEqual(json.map((r) => [r.partition, r.key, r.value, r.headers]), [
        [1, null, 'plain', []],
        [2, 'a', '{"n":1}', [{ key: 'h', value: 'x' }]],
      ]);

      const csvFile = join(dir, 'in.csv');
      await writeFile(csvFile, 'id,name,zip,vip,joined,score\n7,"Smith, Ann",01234,true,2024-01-31,1.5\n8,Bob,98765,FALSE,2024-02-01T10:00:00Z,\n');
      ok(await cli(['produce', '-t', 'csv-in', '--file', csvFile, '--format', 'csv', '--key-column', 'id', '-p', '0']));
      const consumed = ok(await cli(['consume', '-t', 'csv-in', '-f', '%k %s\\n'])).stdout;
      assert.equal(consumed, [
        '7 {"id":7,"name":"Smith, Ann","zip":"01234","vip":true,"joined":"2024-01-31T00:00:00.000Z","score":1.5}',
        '8 {"id":8,"name":"Bob","zip":"98765","vip":false,"joined":"2024-02-01T10:00:00.000Z","score":null}',
        '',
      ].join('\n'));
      // One behaviour: the connect CSV source reads the same file into the same records.
      const viaConnect = [];
      for await (const r of csvFileRecords(csvFile, { keyColumn: 'id', delimiter: ',' })) viaConnect.push(`${r.key} ${JSON.stringify(r.value)}`);
      assert.deepEqual(consumed.split('\n').filter(Boolean), viaConnect);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('start positions: --from-beginning, --offset N / -N / end, --from-timestamp, --max-messages', async () => {
    ok(await cli(['produce', '-t', 'pos', '-p', '0'], 'a\nb\nc\n'));
    const [{ timestamp: lastOld }] = jsonLines(ok(await cli(['consume', '-t', 'pos', '--json', '--offset', '2'])).stdout);
    // The next records get a later timestamp than every record so far.
    while (Date.now() <= lastOld) await new Promise((resolve) => setImmediate(resolve));
    const cut = Date.now();
    ok(await cli(['produce', '-t', 'pos', '-p', '0'], 'd\ne\n'));

    const values = async (...args: string[]): Promise<string> => ok(await cli(['consume', '-t', 'pos', ...args])).stdout;
    assert.equal(await values('--from-beginning'), 'a\nb\nc\nd\ne\n');
    assert.equal(await values('--offset', '3'), 'd\ne\n');
    assert.equal(await values('--offset', '-2'), 'd\ne\n');
    assert.equal(await values('--offset', 'end'), '');
    assert.equal(await values('--from-timestamp', String(cut)), 'd\ne\n');
    assert.equal(await values('--from-timestamp', new Date(cut).toISOString()), 'd\ne\n');
    const limited = ok(await cli(['consume', '-t', 'pos', '--from-beginning', '--max-messages', '2']));
    assert.equal(limited.stdout, 'a\nb\n');
    assert.match(limited.stderr, /Processed a total of 2 messages/);
  });

  test('--group: a second run in the same group reads nothing new, a third only what came since', async () => {
    ok(await cli(['produce', '-t', 'grp'], 'one\ntwo\nthree\n'));
    const first = ok(await cli(['consume', '-t', 'grp', '-g', 'readers', '--from-beginning']));
    assert.deepEqual(first.stdout.split('\n').filter(Boolean).sort(), ['one', 'three', 'two']);
    const second = ok(await cli(['consume', '-t', 'grp', '-g', 'readers', '--from-beginning']));
    assert.equal(second.stdout, '');
    assert.match(second.stderr, /Processed a total of 0 messages/);
    ok(await cli(['produce', '-t', 'grp'], 'four\n'));
    assert.equal(ok(await cli(['consume', '-t', 'grp', '-g', 'readers'])).stdout, 'four\n');
  });

  test('--follow waits for new records and stops at --max-messages; SIGTERM commits and exits cleanly', async () => {
    ok(await cli(['produce', '-t', 'tail', '-p', '0'], 'old\n'));
    const follower = runCli(['consume', '-t', 'tail', '--follow', '--max-messages', '2', '-b', address], { timeoutMs: 20_000 });
    // The follower starts at the end: produce until it has seen two new records (it may start after the first produce).
    const producing = (async () => {
      for (let i = 0; i < 40; i++) {
        const settled = await Promise.race([follower.then(() => true), new Promise<false>((resolve) => setTimeout(() => resolve(false), 250))]);
        if (settled) return;
        ok(await cli(['produce', '-t', 'tail', '-p', '0'], `new-${i}\n`));
      }
    })();
    const result = ok(await follower);
    await producing;
    assert.match(result.stdout, /^new-\d+\nnew-\d+\n$/);
    assert.doesNotMatch(result.stdout, /old/);

    // A group member killed politely: it prints what it read, commits, and the group then has nothing left to read.
    const f = followChild(['consume', '-t', 'tail', '-g', 'tailers', '--from-beginning', '--follow', '-b', address]);
    try {
      while (!f.out().includes('old\n')) await once(f.child.stdout!, 'data');
      f.child.kill('SIGTERM');
      const [code] = await f.exited;
      assert.equal(code, 0, f.err());
    } finally {
      f.done();
    }
    const count = f.out().split('\n').filter(Boolean).length;
    assert.match(f.err(), new RegExp(`Processed a total of ${count} messages`));
    assert.equal(ok(await cli(['consume', '-t', 'tail', '-g', 'tailers'])).stdout, '');
  });

  test('a bad line stops produce saying how many records before it were acknowledged; so does a missing partition, at once', async () => {
    ok(await cli(['topics', 'create', '-t', 'bad-lines', '--partitions', '3']));
    const bad = await cli(['produce', '-t', 'bad-lines', '--format', 'json'], '{"value":"a"}\n{"value":"b"}\n{"value":"c"}\n{oops\n{"value":"never"}\n');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /^error: line 4: not JSON \(.*\); stopped there: the 3 record\(s\) before it were sent to bad-lines and acknowledged$/m);
    assert.deepEqual(ok(await cli(['consume', '-t', 'bad-lines'])).stdout.split('\n').filter(Boolean).sort(), ['a', 'b', 'c']);

    const t0 = Date.now();
    const missing = await cli(['produce', '-t', 'bad-lines', '--format', 'json'], '{"value":"d","partition":2}\n{"value":"e","partition":7}\n');
    assert.ok(Date.now() - t0 < 10_000, 'refused at once, not after max.block.ms (60 s)');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^error: line 2: bad-lines has no partition 7 \(it has 3\); stopped there: the 1 record\(s\) before it were sent to bad-lines and acknowledged$/m);
    assert.equal(ok(await cli(['consume', '-t', 'bad-lines', '-p', '2'])).stdout.split('\n').filter((l) => l === 'd').length, 1);
  });

  test('two quick Ctrl-C on consume -g --follow still leave the group before exiting', async () => {
      const topic = 'leave-twice';
      ok(await cli(['produce', '-t', topic, '-p', '0'], 'first\n'));
      const group = 'leavers';
      const f = followChild(['consume', '-t', topic, '-g', group, '--from-beginning', '--follow', '-b', address]);
      try {
        while (!f.out().includes('first\n')) await Promise.race([once(f.child.stdout!, 'data'), f.exited.then(() => assert.fail(`consume exited: ${f.err()}`))]);
        f.child.kill('SIGINT');
        // Apart, as fingers press them: two signals sent at once reach the process as one.
        await new Promise((resolve) => setTimeout(resolve, 50));
        f.child.kill('SIGINT');
        const [code] = await f.exited;
        assert.ok(code === 0 || code === 130, `exit ${code}: ${f.err()}`);
      } finally {
        f.done();
      }
      // Left, not merely gone: the group has no member now, long before a 45 s session timeout.
      const described = ok(await cli(['groups', 'describe', '--group', group, '--state']));
      assert.match(described.stdout, /\b(Empty)\b/, described.stdout);
      assert.match(described.stdout, /\s0\s*$/m, described.stdout);
  });

  test('binary values: --json base64-encodes them; %R%s frames them', async () => {
    // Lines are bytes: a value that is not UTF-8 survives the round trip.
    const input = Buffer.concat([Buffer.from('k:'), Buffer.from([0xff, 0xfe, 0x41]), Buffer.from('\n')]);
    ok(await runCli(['produce', '-t', 'bin', '-p', '0', '-K', ':', '-b', address], { input, timeoutMs: 20_000 }));
    const [r] = jsonLines(ok(await cli(['consume', '-t', 'bin', '--json'])).stdout);
    assert.equal(r.valueEncoding, 'base64');
    assert.deepEqual(Buffer.from(r.value!, 'base64'), Buffer.from([0xff, 0xfe, 0x41]));
    assert.equal(r.keyEncoding, undefined);
    assert.equal(r.key, 'k');
  });

  test('--help on every command names its flags', async () => {
    const expect: Record<string, string[]> = {
      produce: ['--topic', '--key-separator', '--header', '--file', '--format', '--key-column', '--partition', '--acks', '--compression', '--linger-ms', '--batch-size', '--no-idempotence', '--bootstrap-server'],
      consume: ['--topic', '--group', '--from-beginning', '--offset', '--from-timestamp', '--partition', '--max-messages', '--format', '--json', '--follow', '--isolation-level', '--timeout-ms', '--key-deserializer', '--value-deserializer'],
      perf: ['produce', 'consume', 'e2e'],
      'perf produce': ['--num-records', '--record-size', '--throughput', '--acks', '--compression', '--linger-ms', '--batch-size', '--timeout'],
      'perf consume': ['--messages', '--group', '--timeout', '--hide-header'],
      'perf e2e': ['--num-records', '--record-size', '--acks', '--timeout'],
    };
    for (const [command, flags] of Object.entries(expect)) {
      const r = ok(await runCli([...command.split(' '), '--help'], { timeoutMs: 10_000 }));
      for (const flag of flags) assert.ok(r.stdout.includes(flag), `${command} --help lacks ${flag}`);
    }
    const top = ok(await runCli(['--help'], { timeoutMs: 10_000 }));
    for (const command of ['produce', 'consume', 'perf']) assert.match(top.stdout, new RegExp(`\\b${command}\\b`));
  });

  test('usage errors exit 1 pointing to --help; facts about the cluster and an unreachable broker exit 1 without', async () => {
    const both = await cli(['consume', '-t', 'kv', '--json', '-f', '%s']);
    assert.equal(both.code, 1);
    assert.match(both.stderr, /\(run with --help for usage\)/);
    assert.match(both.stderr, /choose one of --format and --json/);
    const badTemplate = await cli(['consume', '-t', 'kv', '-f', '%x']);
    assert.equal(badTemplate.code, 1);
    const noPartition = await cli(['produce', '-t', 'kv', '-p', '9'], 'v\n');
    assert.equal(noPartition.code, 1);
    assert.equal(noPartition.stderr, 'error: kv has no partition 9 (it has 3)\n');
    const noPartitionConsume = await cli(['consume', '-t', 'kv', '-p', '9']);
    assert.equal(noPartitionConsume.code, 1);
    assert.match(noPartitionConsume.stderr, /^error: kv has no partition 9 \(it has 3\)$/m);
    assert.doesNotMatch(noPartitionConsume.stderr, /--help/);
    const noTopic = await cli(['consume', '-t', 'no-such-topic']);
    assert.equal(noTopic.code, 1);
    assert.match(noTopic.stderr, /topic 'no-such-topic' does not exist — create it with `tributary topics create --topic no-such-topic`/);

    // A port that was just free: nothing listens there.
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as { port: number };
    server.close();
    await once(server, 'close');
    for (const args of [['produce', '-t', 'x'], ['consume', '-t', 'x']]) {
      const r = await runCli([...args, '-b', `127.0.0.1:${port}`, '-X', 'retries=0'], { input: 'v\n', timeoutMs: 15_000 });
      assert.equal(r.code, 1, `${args[0]}: ${r.stderr}`);
      assert.match(r.stderr, /cannot reach 127\.0\.0\.1:\d+ \(ECONNREFUSED\) — is `tributary start` running, and is --bootstrap-server right\?/);
    }
  });
});
