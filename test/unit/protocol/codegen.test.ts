import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { needsKafkaReference } from './helpers/spec-values.js';

const repo = fileURLToPath(new URL('../../../../', import.meta.url));
const spec = await import(pathToFileURL(join(repo, 'tools/codegen/spec.mjs')).href);
const generatedDir = join(repo, 'src/protocol/generated');

function listTs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts'))
    .map((e) => join(e.parentPath, e.name));
}

test('committed generated files match the generator (codegen --check)', needsKafkaReference, () => {
  const run = spawnSync(process.execPath, ['tools/codegen/generate.mjs', '--check'], { cwd: repo, encoding: 'utf8' });
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /221 files up to date/);
});

test('--check reports changed, missing and extra files', needsKafkaReference, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'tributary-codegen-'));
  try {
    const fakeRepo = join(tmp, 'repo');
    mkdirSync(join(tmp, 'shared/reference'), { recursive: true });
    symlinkSync(spec.REFERENCE_DIR, join(tmp, 'shared/reference/kafka-protocol'));
    cpSync(join(repo, 'tools/codegen'), join(fakeRepo, 'tools/codegen'), { recursive: true });
    const gen = (...args: string[]) => spawnSync(process.execPath, ['tools/codegen/generate.mjs', ...args], { cwd: fakeRepo, encoding: 'utf8' });
    assert.equal(gen().status, 0);
    const out = join(fakeRepo, 'src/protocol/generated');
    writeFileSync(join(out, 'produce-request.ts'), '// edited\n');
    unlinkSync(join(out, 'internal/offset-commit-key.ts'));
    writeFileSync(join(out, 'stray.ts'), '');
    const check = gen('--check');
    assert.equal(check.status, 1);
    assert.match(check.stderr, /changed: src\/protocol\/generated\/produce-request\.ts/);
    assert.match(check.stderr, /missing: src\/protocol\/generated\/internal\/offset-commit-key\.ts/);
    assert.match(check.stderr, /extra: +src\/protocol\/generated\/stray\.ts/);
    // Regenerating repairs all three.
    assert.equal(gen().status, 0);
    assert.equal(gen('--check').status, 0);
    assert.equal(readFileSync(join(out, 'produce-request.ts'), 'utf8'), readFileSync(join(generatedDir, 'produce-request.ts'), 'utf8'));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('the error table is read from the protocol guide include when the reference ships it', needsKafkaReference, () => {
  const tmp = mkdtempSync(join(tmpdir(), 'tributary-codegen-'));
  try {
    const ref = join(tmp, 'shared/reference/kafka-protocol');
    mkdirSync(join(ref, 'docs/generated'), { recursive: true });
    symlinkSync(join(spec.REFERENCE_DIR, 'messages'), join(ref, 'messages'));
    symlinkSync(join(spec.REFERENCE_DIR, 'internal-records'), join(ref, 'internal-records'));
    cpSync(join(spec.REFERENCE_DIR, 'docs/protocol.html'), join(ref, 'docs/protocol.html'));
    writeFileSync(join(ref, 'docs/generated/protocol_errors.html'), [
      '<table class="data-table"><tbody>',
      '<tr><th>Error</th><th>Code</th><th>Retriable</th><th>Description</th></tr>',
      '<tr><td>UNKNOWN_SERVER_ERROR</td><td>-1</td><td>False</td><td>text</td></tr>',
      '<tr><td>NONE</td><td>0</td><td>False</td><td></td></tr>',
      '<tr><td>CORRUPT_MESSAGE</td><td>2</td><td>True</td><td>text</td></tr>',
      '</tbody></table>',
    ].join('\n'));
    const fakeRepo = join(tmp, 'repo');
    cpSync(join(repo, 'tools/codegen'), join(fakeRepo, 'tools/codegen'), { recursive: true });
    const run = spawnSync(process.execPath, ['tools/codegen/generate.mjs'], { cwd: fakeRepo, encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    const text = readFileSync(join(fakeRepo, 'src/protocol/generated/error-codes.ts'), 'utf8');
    assert.match(text, /Error table source: docs\/generated\/protocol_errors\.html/);
    assert.match(text, /UNKNOWN_SERVER_ERROR: -1,\n {2}NONE: 0,\n {2}CORRUPT_MESSAGE: 2,\n\}/);
    assert.match(text, /new Set\(\[2\]\)/);
    assert.ok(!text.includes('text'), 'descriptions are left out');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('every generated file carries the header and no upstream prose', needsKafkaReference, () => {
  const abouts = new Set<string>();
  const collect = (fields: any[] | undefined): void => {
    for (const f of fields ?? []) {
      if (typeof f.about === 'string' && f.about.length > 24) abouts.add(f.about);
      collect(f.fields);
    }
  };
  for (const dir of ['messages', 'internal-records']) {
    for (const file of readdirSync(join(spec.REFERENCE_DIR, dir)).filter((f: string) => f.endsWith('.json'))) {
      const json = JSON.parse(spec.stripComments(readFileSync(join(spec.REFERENCE_DIR, dir, file), 'utf8')));
      collect(json.fields);
      for (const s of json.commonStructs ?? []) collect(s.fields);
    }
  }
  assert.ok(abouts.size > 500);
  const files = listTs(generatedDir);
  assert.equal(files.length, 221); // 218 specs + index, header-versions, error-codes
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    assert.ok(text.startsWith("// Generated by tools/codegen from Apache Kafka's message specs — do not edit.\n"), file);
    for (const about of abouts) assert.ok(!text.includes(about), `${file} contains spec prose: ${about}`);
  }
});

test('comment stripping leaves // inside strings alone', () => {
  const text = '{ "a": "http://x//y", // comment "b": 2\n "b": "q\\"//z" }';
  assert.deepStrictEqual(JSON.parse(spec.stripComments(text)), { a: 'http://x//y', b: 'q"//z' });
});

test('version ranges, names and integer defaults', () => {
  assert.deepStrictEqual(spec.parseVersions('3+'), { lo: 3, hi: Infinity });
  assert.deepStrictEqual(spec.parseVersions('0-7'), { lo: 0, hi: 7 });
  assert.deepStrictEqual(spec.parseVersions('5'), { lo: 5, hi: 5 });
  assert.equal(spec.parseVersions('none'), null);
  assert.throws(() => spec.parseVersions('1-'));
  assert.equal(spec.kebabCase('ProduceRequest'), 'produce-request');
  assert.equal(spec.kebabCase('KRaftVersionRecord'), 'kraft-version-record');
  assert.equal(spec.camelCase('TopicData'), 'topicData');
  assert.equal(spec.parseIntDefault('0x7fffffff'), 2147483647n);
  assert.equal(spec.parseIntDefault('-1'), -1n);
  assert.equal(spec.parseIntDefault('010'), 8n);
});

test('the model applies spec defaults, tagged-only fields and common structs', needsKafkaReference, () => {
  const find = (dir: string, name: string) => spec.loadSpecs().find((e: any) => e.dir === dir && e.model.name === name).model;
  const fetch = find('messages', 'FetchRequest');
  const field = (s: any, name: string) => s.fields.find((f: any) => f.name === name);
  assert.equal(field(fetch.root, 'MaxBytes').default, 0x7fffffff);
  assert.equal(field(fetch.root, 'ClusterId').default, null);
  const txn = find('internal-records', 'TransactionLogValue');
  // A field with only taggedVersions exists exactly where it is tagged.
  assert.deepStrictEqual(field(txn.root, 'PreviousProducerId').versions, { lo: 1, hi: Infinity });
  assert.equal(field(txn.root, 'PreviousProducerId').default, -1n);
  const cgd = find('messages', 'ConsumerGroupDescribeResponse');
  assert.ok(cgd.structs.has('Assignment') && cgd.structs.has('TopicPartitions'));
  const header = find('messages', 'RequestHeader');
  assert.equal(field(header.root, 'ClientId').flexibleVersions, null);
});
