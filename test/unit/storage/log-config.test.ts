import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  ConfigError,
  ConfigSource,
  DEFAULT_LOG_CONFIG,
  LONG_MAX_STRING,
  TOPIC_CONFIG_DEFS,
  TOPIC_TO_BROKER_KEY,
  describeTopicConfig,
  parseTopicConfig,
} from '../../../src/storage/log-config.js';

function assertConfigError(fn: () => unknown, key: string, value: string, allowedPart: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ConfigError, String(err));
    assert.equal(err.key, key);
    assert.equal(err.value, value);
    assert.match(err.allowed, new RegExp(allowedPart));
    assert.match(err.message, new RegExp(`${value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}.*${key.replace(/\./g, '\\.')}`));
    assert.equal(err.kafkaError, 'INVALID_CONFIG');
    return true;
  });
}

describe('log-config', () => {
  it("has Kafka's defaults", () => {
    const c = DEFAULT_LOG_CONFIG;
    assert.equal(c.segmentBytes, 1073741824);
    assert.equal(c.segmentMs, 604800000);
    assert.equal(c.segmentIndexBytes, 10485760);
    assert.equal(c.indexIntervalBytes, 4096);
    assert.equal(c.retentionMs, 604800000);
    assert.equal(c.retentionBytes, -1);
    assert.equal(c.flushMessages, Infinity);
    assert.equal(c.flushMs, Infinity);
    assert.equal(c.maxMessageBytes, 1048588);
    assert.equal(c.messageTimestampType, 'CreateTime');
    assert.equal(c.messageTimestampBeforeMaxMs, Infinity);
    assert.equal(c.messageTimestampAfterMaxMs, 3600000);
    assert.deepEqual(c.cleanupPolicy, ['delete']);
    assert.equal(c.minInsyncReplicas, 1);
    assert.equal(c.fileDeleteDelayMs, 60000);
    assert.equal(c.compressionType, 'producer');
    assert.equal(c.uncleanLeaderElectionEnable, false);
    assert.deepEqual(c.overrides, {});
  });

  it('applies topic overrides over broker keys over defaults', () => {
    const c = parseTopicConfig(
      { 'segment.bytes': '2048', 'cleanup.policy': 'compact, delete', 'message.timestamp.type': 'LogAppendTime' },
      { 'log.segment.bytes': 4096, 'log.retention.bytes': '1000', 'log.flush.interval.messages': '5' },
    );
    assert.equal(c.segmentBytes, 2048);
    assert.equal(c.retentionBytes, 1000);
    assert.equal(c.flushMessages, 5);
    assert.deepEqual(c.cleanupPolicy, ['compact', 'delete']);
    assert.equal(c.messageTimestampType, 'LogAppendTime');
    assert.deepEqual(c.overrides, { 'segment.bytes': '2048', 'cleanup.policy': 'compact, delete', 'message.timestamp.type': 'LogAppendTime' });
  });

  it('converts broker hours/minutes and prefers ms > minutes > hours', () => {
    assert.equal(parseTopicConfig({}, { 'log.retention.hours': '1' }).retentionMs, 3_600_000);
    assert.equal(parseTopicConfig({}, { 'log.retention.hours': '1', 'log.retention.minutes': '2' }).retentionMs, 120_000);
    assert.equal(parseTopicConfig({}, { 'log.retention.hours': '1', 'log.retention.minutes': '2', 'log.retention.ms': '7' }).retentionMs, 7);
    assert.equal(parseTopicConfig({}, { 'log.retention.hours': '-1' }).retentionMs, -1);
    assert.equal(parseTopicConfig({}, { 'log.roll.hours': '2' }).segmentMs, 7_200_000);
    assert.equal(parseTopicConfig({ 'retention.ms': '5' }, { 'log.retention.ms': '7' }).retentionMs, 5);
  });

  it('maps Long.MAX_VALUE to Infinity and back', () => {
    const c = parseTopicConfig({ 'flush.ms': LONG_MAX_STRING, 'retention.ms': '-1' });
    assert.equal(c.flushMs, Infinity);
    assert.equal(c.retentionMs, -1);
    const e = describeTopicConfig({ 'flush.ms': LONG_MAX_STRING }).find((x) => x.name === 'flush.ms')!;
    assert.equal(e.value, LONG_MAX_STRING);
  });

  it('rejects bad values naming key, value and what is allowed', () => {
    assertConfigError(() => parseTopicConfig({ 'segment.bytes': '13' }), 'segment.bytes', '13', 'at least 14');
    assertConfigError(() => parseTopicConfig({ 'segment.bytes': 'big' }), 'segment.bytes', 'big', 'integer');
    assertConfigError(() => parseTopicConfig({ 'segment.bytes': '4294967296' }), 'segment.bytes', '4294967296', '32-bit');
    assertConfigError(() => parseTopicConfig({ 'retention.ms': '-2' }), 'retention.ms', '-2', 'at least -1');
    assertConfigError(() => parseTopicConfig({ 'flush.messages': '0' }), 'flush.messages', '0', 'at least 1');
    assertConfigError(() => parseTopicConfig({ 'retention.bytes': '9223372036854775808' }), 'retention.bytes', '9223372036854775808', '64-bit');
    assertConfigError(() => parseTopicConfig({ 'message.timestamp.type': 'Now' }), 'message.timestamp.type', 'Now', 'CreateTime, LogAppendTime');
    assertConfigError(() => parseTopicConfig({ 'cleanup.policy': 'delete,erase' }), 'cleanup.policy', 'delete,erase', 'compact, delete');
    assertConfigError(() => parseTopicConfig({ 'compression.type': 'brotli' }), 'compression.type', 'brotli', 'zstd');
    assertConfigError(() => parseTopicConfig({ preallocate: 'yes' }), 'preallocate', 'yes', 'true or false');
    assertConfigError(() => parseTopicConfig({ 'min.cleanable.dirty.ratio': '1.5' }), 'min.cleanable.dirty.ratio', '1.5', 'at most 1');
    assertConfigError(() => parseTopicConfig({ 'no.such.key': '1' }), 'no.such.key', '1', 'not a known');
  });

  it('blames the broker key when a broker default is bad', () => {
    assertConfigError(() => parseTopicConfig({}, { 'log.segment.bytes': '1' }), 'log.segment.bytes', '1', 'at least 14');
  });

  it('maps every topic key with a broker synonym to its broker key', () => {
    assert.equal(TOPIC_TO_BROKER_KEY['segment.bytes'], 'log.segment.bytes');
    assert.equal(TOPIC_TO_BROKER_KEY['retention.ms'], 'log.retention.ms');
    assert.equal(TOPIC_TO_BROKER_KEY['max.message.bytes'], 'message.max.bytes');
    assert.equal(TOPIC_TO_BROKER_KEY['flush.ms'], 'log.flush.interval.ms');
    assert.equal(TOPIC_TO_BROKER_KEY['message.timestamp.type'], 'log.message.timestamp.type');
    assert.equal(TOPIC_TO_BROKER_KEY['file.delete.delay.ms'], 'log.segment.delete.delay.ms');
    assert.equal(TOPIC_TO_BROKER_KEY['segment.index.bytes'], 'log.index.size.max.bytes');
  });

  it('describes every key with value, source and synonyms', () => {
    const entries = describeTopicConfig(
      { 'retention.ms': '1000' },
      { 'log.segment.bytes': '2048', 'log.retention.hours': '168', 'log.retention.bytes': '-1' },
    );
    assert.equal(entries.length, TOPIC_CONFIG_DEFS.length);
    const by = new Map(entries.map((e) => [e.name, e]));
    const retention = by.get('retention.ms')!;
    assert.equal(retention.value, '1000');
    assert.equal(retention.source, ConfigSource.TOPIC_CONFIG);
    assert.equal(retention.isDefault, false);
    assert.deepEqual(retention.synonyms.map((s) => s.name), ['retention.ms', 'log.retention.ms']);
    const seg = by.get('segment.bytes')!;
    assert.equal(seg.value, '2048');
    assert.equal(seg.source, ConfigSource.STATIC_BROKER_CONFIG);
    // log.retention.bytes=-1 is just Kafka's default passed along: not "set".
    const rb = by.get('retention.bytes')!;
    assert.equal(rb.source, ConfigSource.DEFAULT_CONFIG);
    assert.equal(rb.isDefault, true);
    assert.ok(entries.every((e) => e.isSensitive === false));
    const explicit = describeTopicConfig({}, { 'log.retention.bytes': '-1' }, { explicitBrokerKeys: new Set(['log.retention.bytes']) });
    assert.equal(explicit.find((e) => e.name === 'retention.bytes')!.source, ConfigSource.STATIC_BROKER_CONFIG);
  });
});
