/** Pipeline files (JSON and YAML) and flags → validated PipelineConfig; errors that say what to fix. */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigFile, parseConfig, pipelineFromFlags } from '../../../src/connect/config.js';

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tributary-config-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

const yaml = `
bootstrapServers: 127.0.0.1:19092
pipelines:
  - name: users-in
    source: { type: csv, path: users.csv.gz, keyColumn: id, columns: { age: int, name: string } }
    topic: users
  - name: users-to-db
    topic: users
    sink:
      type: sqlite
      url: ./users.db
      table: users
      mode: upsert
      keyColumns: [id]
      autoCreate: true
      columns: { id: id, full_name: name }
`;

describe('pipeline files', () => {
  test('YAML and the same JSON give the same config, with defaults and paths relative to the file', async () => {
    await writeFile(join(dir, 'p.yaml'), yaml);
    const fromYaml = await loadConfigFile(join(dir, 'p.yaml'));
    assert.equal(fromYaml.bootstrapServers, '127.0.0.1:19092');
    const [src, sink] = fromYaml.pipelines;
    assert.deepEqual(src, {
      name: 'users-in',
      topic: 'users',
      source: { type: 'csv', path: join(dir, 'users.csv.gz'), keyColumn: 'id', columns: { age: 'int', name: 'string' }, delimiter: ',', guarantee: 'at-least-once' },
      sink: undefined,
      group: 'connect-users-in',
      tasks: 1,
    });
    assert.deepEqual(sink.sink, {
      type: 'sqlite',
      url: join(dir, 'users.db'),
      table: 'users',
      mode: 'upsert',
      keyColumns: ['id'],
      autoCreate: true,
      columns: { id: 'id', full_name: 'name' },
      batchSize: 500,
      guarantee: 'at-least-once',
      deadLetterTopic: 'users-dlq',
      metadata: false,
    });
    const { parse } = await import('yaml');
    await writeFile(join(dir, 'p.json'), JSON.stringify(parse(yaml)));
    assert.deepEqual(await loadConfigFile(join(dir, 'p.json')), fromYaml);
    // No extension: sniffed.
    await writeFile(join(dir, 'pipelines'), JSON.stringify(parse(yaml)));
    assert.deepEqual(await loadConfigFile(join(dir, 'pipelines')), fromYaml);
  });

  test('source defaults: directory, http; bootstrap default', () => {
    const c = parseConfig({ pipelines: [{ name: 'd', topic: 't', source: { type: 'directory', path: '/in' } }, { name: 'h', topic: 't', source: { type: 'http', port: 8080 } }] });
    assert.equal(c.bootstrapServers, '127.0.0.1:9092');
    assert.deepEqual(c.pipelines[0].source, { type: 'directory', path: '/in', pattern: '*.csv', format: undefined, keyColumn: undefined, columns: undefined, delimiter: ',', skipBadLines: false, pollMs: 1000, guarantee: 'at-least-once' });
    assert.deepEqual(c.pipelines[1].source, { type: 'http', port: 8080, host: '127.0.0.1', path: '/events', keyColumn: undefined, maxBodyBytes: 1048576 });
  });

  test('a file source is exactly-once when given, or when a sink of the same config reads its topic exactly-once', () => {
    const c = parseConfig({
      pipelines: [
        { name: 'a', topic: 't', source: { type: 'csv', path: '/a.csv' } },
        { name: 'b', topic: 'u', source: { type: 'jsonl', path: '/b.jsonl' } },
        { name: 'c', topic: 'u', source: { type: 'jsonl', path: '/c.jsonl', guarantee: 'exactly-once' } },
        { name: 'd', topic: 't', source: { type: 'directory', path: '/d', guarantee: 'at-least-once' } },
        { name: 'to-db', topic: 't', sink: { type: 'sqlite', url: '/x.db', table: 'x', guarantee: 'exactly-once' } },
      ],
    });
    assert.deepEqual(c.pipelines.map((p) => [p.name, p.source?.type === 'http' ? null : p.source?.guarantee]), [['a', 'exactly-once'], ['b', 'at-least-once'], ['c', 'exactly-once'], ['d', 'at-least-once'], ['to-db', undefined]]);
    assert.throws(() => parseConfig({ pipelines: [{ name: 'h', topic: 't', source: { type: 'http', port: 1, guarantee: 'exactly-once' } }] }), /pipeline "h": source\.guarantee is "exactly-once": an http source is at-least-once/);
    assert.deepEqual(pipelineFromFlags({ topic: 't', sourceType: 'csv', sourcePath: '/a.csv', guarantee: 'exactly-once' })?.source, { type: 'csv', path: '/a.csv', keyColumn: undefined, columns: undefined, delimiter: ',', guarantee: 'exactly-once' });
    assert.throws(() => pipelineFromFlags({ topic: 't', sourceType: 'http', port: '1', guarantee: 'exactly-once' }), /--guarantee needs --sink-type or a file source/);
  });

  test('errors name the pipeline, the key, the bad value and what is allowed', async () => {
    const bad = (p: object, re: RegExp): void => assert.throws(() => parseConfig({ pipelines: [p] }), re);
    bad({ name: 'a', topic: 't', source: { type: 'xml', path: 'f' } }, /pipeline "a": source\.type is "xml": must be one of csv, jsonl, directory, http/);
    bad({ name: 'a', topic: 't', source: { type: 'csv' } }, /pipeline "a": source\.path is missing/);
    bad({ name: 'a', topic: 't', source: { type: 'csv', path: 'f', colums: {} } }, /pipeline "a": source\.colums is \{\}: not a known key here; the keys are type, path, keyColumn, columns, delimiter/);
    bad({ name: 'a', topic: 't', source: { type: 'csv', path: 'f', columns: { age: 'integer' } } }, /source\.columns\.age is "integer": must be one of int, float, bool, string, timestamp/);
    bad({ name: 'a', topic: 't', source: { type: 'http' } }, /source\.port is missing: the TCP port to listen on is required/);
    bad({ name: 'a', topic: 't', source: { type: 'http', port: 70000 } }, /source\.port is 70000: must be an integer from 0 to 65535/);
    bad({ name: 'a', topic: 't', sink: { type: 'sqlite', url: 'x.db' } }, /pipeline "a": sink\.table is missing/);
    bad({ name: 'a', topic: 't', sink: { type: 'sqlite', url: 'x.db', table: 'u', mode: 'upsert' } }, /sink\.keyColumns is missing: mode upsert needs the key columns/);
    bad({ name: 'a', topic: 't', sink: { type: 'mysql', url: 'localhost', table: 'u' } }, /sink\.url is "localhost": must be a mysql:\/\//);
    bad({ name: 'a', topic: 't', sink: { type: 'sqlite', url: 'x.db', table: 'u', guarantee: 'exactly-twice' } }, /sink\.guarantee is "exactly-twice": must be one of at-least-once, exactly-once/);
    bad({ name: 'a', topic: 't', sink: { type: 'sqlite', url: 'x.db', table: 'u', batchSize: 0 } }, /sink\.batchSize is 0: must be an integer from 1/);
    bad({ name: 'a', topic: 't' }, /pipeline "a": source is missing: a pipeline needs a source .* a sink .* or both/);
    bad({ name: 'a', topic: 't', tasks: 4, source: { type: 'csv', path: 'f' } }, /tasks is 4: must be 1: scale out by running more processes/);
    bad({ topic: 't' }, /pipelines\[0\]\.name is missing/);
    bad({ name: 'a', topic: 'bad topic', source: { type: 'csv', path: 'f' } }, /topic is "bad topic": a Kafka topic name/);
    assert.throws(() => parseConfig({ pipelines: [] }), /pipelines is \[\]: must be a non-empty list/);
    assert.throws(() => parseConfig({ pipelines: [{ name: 'a', topic: 't', source: { type: 'csv', path: 'f' } }, { name: 'a', topic: 'u', source: { type: 'csv', path: 'g' } }] }), /pipeline "a": the name is used twice/);
    await writeFile(join(dir, 'broken.yaml'), 'pipelines: [\n');
    await assert.rejects(loadConfigFile(join(dir, 'broken.yaml')), /broken\.yaml: not valid YAML/);
    await assert.rejects(loadConfigFile(join(dir, 'nope.yaml')), /nope\.yaml: no such file/);
  });
});

describe('flags', () => {
  test('flags give the same PipelineConfig as the file entry', () => {
    const fromFlags = pipelineFromFlags(
      { name: 'users-to-db', topic: 'users', sinkType: 'sqlite', sinkUrl: 'users.db', table: 'users', mode: 'upsert', keyColumns: 'id', autoCreate: true, sinkColumns: 'id=id,full_name=name', batchSize: '200', guarantee: 'exactly-once', deadLetterTopic: 'dead' },
      dir,
    );
    const fromFile = parseConfig(
      { pipelines: [{ name: 'users-to-db', topic: 'users', sink: { type: 'sqlite', url: 'users.db', table: 'users', mode: 'upsert', keyColumns: ['id'], autoCreate: true, columns: { id: 'id', full_name: 'name' }, batchSize: 200, guarantee: 'exactly-once', deadLetterTopic: 'dead' } }] },
      dir,
    ).pipelines[0];
    assert.deepEqual(fromFlags, fromFile);

    const src = pipelineFromFlags({ topic: 'users', sourceType: 'csv', sourcePath: 'u.csv', keyColumn: 'id', columns: 'age:int,ok:bool', delimiter: ';' }, dir);
    assert.deepEqual(src, parseConfig({ pipelines: [{ name: 'source-users', topic: 'users', source: { type: 'csv', path: 'u.csv', keyColumn: 'id', columns: { age: 'int', ok: 'bool' }, delimiter: ';' } }] }, dir).pipelines[0]);
    assert.equal(pipelineFromFlags({}), null);
  });

  test('flag mistakes', () => {
    assert.throws(() => pipelineFromFlags({ topic: 't', sourceType: 'csv', sourcePath: 'f', port: '80' }), /--port does not apply to --source-type csv/);
    assert.throws(() => pipelineFromFlags({ topic: 't', table: 'x' }), /--table needs --sink-type/);
    assert.throws(() => pipelineFromFlags({ sourceType: 'csv', sourcePath: 'f' }), /--topic is required/);
    assert.throws(() => pipelineFromFlags({ topic: 't', sourceType: 'csv', sourcePath: 'f', columns: 'age' }), /--columns expects name:value pairs/);
  });
});
