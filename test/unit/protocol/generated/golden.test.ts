/**
 * Byte vectors built by hand from the protocol guide's layouts, so the codecs
 * are checked against the wire format and not only against themselves.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { MessageCodec } from '../../../../src/protocol/primitives/codec.js';
import { Reader } from '../../../../src/protocol/primitives/reader.js';
import { Writer } from '../../../../src/protocol/primitives/writer.js';
import { RequestHeader } from '../../../../src/protocol/generated/request-header.js';
import { ResponseHeader } from '../../../../src/protocol/generated/response-header.js';
import { ApiVersionsRequest } from '../../../../src/protocol/generated/api-versions-request.js';
import { ApiVersionsResponse } from '../../../../src/protocol/generated/api-versions-response.js';
import { MetadataRequest } from '../../../../src/protocol/generated/metadata-request.js';
import { ProduceRequest } from '../../../../src/protocol/generated/produce-request.js';
import { DescribeTopicPartitionsRequest } from '../../../../src/protocol/generated/describe-topic-partitions-request.js';
import { OffsetCommitValue } from '../../../../src/protocol/generated/internal/offset-commit-value.js';

/** Hex with spaces and | separators for readability. */
const hex = (s: string): Buffer => Buffer.from(s.replace(/[\s|]/g, ''), 'hex');

function check<T>(codec: MessageCodec<T, any>, version: number, value: T, bytes: Buffer): void {
  const w = new Writer();
  codec.encode(w, version, value);
  assert.equal(w.toBuffer().toString('hex'), bytes.toString('hex'), `${codec.name} v${version} encoding`);
  const r = new Reader(bytes);
  assert.deepStrictEqual(codec.decode(r, version), value);
  assert.equal(r.remaining(), 0);
}

test('RequestHeader v1 with a null client id', () => {
  // api key 3, api version 1, correlation id 7, client id int16 length -1
  check(RequestHeader, 1, { requestApiKey: 3, requestApiVersion: 1, correlationId: 7, clientId: null }, hex('0003 0001 00000007 ffff'));
});

test('RequestHeader v2 keeps the int16-length client id and adds a tag section', () => {
  check(RequestHeader, 2, { requestApiKey: 18, requestApiVersion: 3, correlationId: 1, clientId: 'abc' },
    hex('0012 0003 00000001 | 0003 616263 | 00'));
});

test('RequestHeader v0 has no client id', () => {
  check(RequestHeader, 0, { requestApiKey: 7, requestApiVersion: 0, correlationId: 2, clientId: '' }, hex('0007 0000 00000002'));
});

test('ResponseHeader v0 and v1', () => {
  check(ResponseHeader, 0, { correlationId: 258 }, hex('00000102'));
  check(ResponseHeader, 1, { correlationId: 258 }, hex('00000102 00'));
});

test('ApiVersionsRequest v3 with compact client software name and version', () => {
  // compact strings: unsigned varint length+1, then UTF-8
  check(ApiVersionsRequest, 3, { clientSoftwareName: 'tributary', clientSoftwareVersion: '0.1.0' },
    hex('0a 7472696275746172 79 | 06 302e312e30 | 00'));
});

test('ApiVersionsRequest v0 is empty', () => {
  check(ApiVersionsRequest, 0, { clientSoftwareName: '', clientSoftwareVersion: '' }, hex(''));
});

test('ApiVersionsResponse v0 and v3 (compact array, tagged FinalizedFeaturesEpoch)', () => {
  const apiKeys = [{ apiKey: 0, minVersion: 0, maxVersion: 11 }, { apiKey: 18, minVersion: 0, maxVersion: 4 }];
  check(ApiVersionsResponse, 0, {
    errorCode: 0, apiKeys, throttleTimeMs: 0, supportedFeatures: [], finalizedFeaturesEpoch: -1n, finalizedFeatures: [], zkMigrationReady: false,
  }, hex('0000 | 00000002 | 0000 0000 000b | 0012 0000 0004'));
  check(ApiVersionsResponse, 3, {
    errorCode: 35, apiKeys, throttleTimeMs: 100, supportedFeatures: [], finalizedFeaturesEpoch: 5n, finalizedFeatures: [], zkMigrationReady: true,
  }, hex('0023 | 03 | 0000 0000 000b 00 | 0012 0000 0004 00 | 00000064 | 02 | 01 08 0000000000000005 | 03 01 01'));
});

test('MetadataRequest v1: topic list and null (all topics)', () => {
  check(MetadataRequest, 1, { topics: [{ topicId: '00000000-0000-0000-0000-000000000000', name: 'a' }, { topicId: '00000000-0000-0000-0000-000000000000', name: 'bc' }], allowAutoTopicCreation: true, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false },
    hex('00000002 | 0001 61 | 0002 6263'));
  check(MetadataRequest, 1, { topics: null, allowAutoTopicCreation: true, includeClusterAuthorizedOperations: false, includeTopicAuthorizedOperations: false },
    hex('ffffffff'));
});

test('ProduceRequest v3 with a null transactional id and a records blob', () => {
  check(ProduceRequest, 3, {
    transactionalId: null, acks: -1, timeoutMs: 30000,
    topicData: [{ name: 't', partitionData: [{ index: 0, records: hex('010203') }] }],
  }, hex('ffff | ffff | 00007530 | 00000001 | 0001 74 | 00000001 | 00000000 | 00000003 010203'));
});

test('DescribeTopicPartitionsRequest v0: nullable struct marker', () => {
  const topics = [{ name: 't' }];
  check(DescribeTopicPartitionsRequest, 0, { topics, responsePartitionLimit: 2000, cursor: null },
    hex('02 | 02 74 00 | 000007d0 | ff | 00'));
  check(DescribeTopicPartitionsRequest, 0, { topics, responsePartitionLimit: 2000, cursor: { topicName: 't', partitionIndex: 5 } },
    hex('02 | 02 74 00 | 000007d0 | 01 02 74 00000005 00 | 00'));
});

test('OffsetCommitValue v1 and v3 (internal record versions)', () => {
  check(OffsetCommitValue, 1, { offset: 42n, leaderEpoch: -1, metadata: 'm', commitTimestamp: 1n, expireTimestamp: 2n },
    hex('000000000000002a | 0001 6d | 0000000000000001 | 0000000000000002'));
  check(OffsetCommitValue, 3, { offset: 42n, leaderEpoch: 7, metadata: '', commitTimestamp: 1n, expireTimestamp: -1n },
    hex('000000000000002a | 00000007 | 0000 | 0000000000000001'));
});
