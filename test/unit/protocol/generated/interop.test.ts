/**
 * Cross-checks against two independent client implementations (the installed
 * dev dependencies @platformatic/kafka and kafkajs): their request bytes must
 * equal ours, and they must parse the responses we encode.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { apiVersionsV4, metadataV12, Reader as PlatformaticReader } from '@platformatic/kafka';
import { Reader } from '../../../../src/protocol/primitives/reader.js';
import { Writer } from '../../../../src/protocol/primitives/writer.js';
import { ApiVersionsRequest } from '../../../../src/protocol/generated/api-versions-request.js';
import { ApiVersionsResponse } from '../../../../src/protocol/generated/api-versions-response.js';
import { MetadataRequest } from '../../../../src/protocol/generated/metadata-request.js';
import { MetadataResponse } from '../../../../src/protocol/generated/metadata-response.js';

const require = createRequire(import.meta.url);

function encode(codec: { encode(w: Writer, v: number, value: any): void }, version: number, value: unknown): Buffer {
  const w = new Writer();
  codec.encode(w, version, value);
  return w.toBuffer();
}

test('@platformatic/kafka: Metadata v12 and ApiVersions v4 requests are byte-identical', () => {
  const theirs = metadataV12.createRequest(['orders', 'payments'], true, false).buffer;
  const ours = encode(MetadataRequest, 12, { topics: [{ name: 'orders' }, { name: 'payments' }], allowAutoTopicCreation: true });
  assert.equal(ours.toString('hex'), theirs.toString('hex'));
  // And we decode theirs.
  const decoded = MetadataRequest.decode(new Reader(theirs), 12);
  assert.deepStrictEqual(decoded.topics?.map((t) => t.name), ['orders', 'payments']);

  const theirsApi = apiVersionsV4.createRequest('platformatic', '1.35.0').buffer;
  assert.equal(encode(ApiVersionsRequest, 4, { clientSoftwareName: 'platformatic', clientSoftwareVersion: '1.35.0' }).toString('hex'), theirsApi.toString('hex'));
});

test('@platformatic/kafka parses our ApiVersions v4 and Metadata v12 responses', () => {
  const api = encode(ApiVersionsResponse, 4, { apiKeys: [{ apiKey: 3, minVersion: 0, maxVersion: 12 }], throttleTimeMs: 7 });
  const parsedApi = apiVersionsV4.parseResponse(0, 18, 4, PlatformaticReader.from(api));
  assert.deepStrictEqual(parsedApi.apiKeys.map((k: any) => [k.apiKey, k.minVersion, k.maxVersion]), [[3, 0, 12]]);
  assert.equal(parsedApi.throttleTimeMs, 7);

  const md = encode(MetadataResponse, 12, {
    brokers: [{ nodeId: 1, host: 'localhost', port: 9092, rack: null }],
    clusterId: 'c1',
    controllerId: 1,
    topics: [{
      name: 'orders', topicId: '0123456789abcdef0123456789abcdef'.replace(/(.{8})(.{4})(.{4})(.{4})(.{12})/, '$1-$2-$3-$4-$5'),
      partitions: [{ partitionIndex: 0, leaderId: 1, leaderEpoch: 3, replicaNodes: [1], isrNodes: [1], offlineReplicas: [] }],
    }],
  });
  const parsed = metadataV12.parseResponse(0, 3, 12, PlatformaticReader.from(md));
  assert.equal(parsed.clusterId, 'c1');
  assert.deepStrictEqual(parsed.brokers, [{ nodeId: 1, host: 'localhost', port: 9092, rack: null }]);
  assert.equal(parsed.topics[0].name, 'orders');
  assert.equal(parsed.topics[0].topicId, '01234567-89ab-cdef-0123-456789abcdef');
  assert.equal(parsed.topics[0].partitions[0].leaderEpoch, 3);
  assert.deepStrictEqual(parsed.topics[0].partitions[0].isrNodes, [1]);
});

test('kafkajs: Metadata v1 request bytes match and kafkajs parses our v1 response', async () => {
  const metadataV1Request = require('kafkajs/src/protocol/requests/metadata/v1/request.js');
  const metadataV1Response = require('kafkajs/src/protocol/requests/metadata/v1/response.js');
  const theirs: Buffer = (await metadataV1Request({ topics: ['a', 'bc'] }).encode()).buffer;
  assert.equal(encode(MetadataRequest, 1, { topics: [{ name: 'a' }, { name: 'bc' }] }).toString('hex'), theirs.toString('hex'));

  const ours = encode(MetadataResponse, 1, {
    brokers: [{ nodeId: 2, host: 'h', port: 19092, rack: 'r1' }],
    controllerId: 2,
    topics: [{ name: 'a', isInternal: false, partitions: [{ partitionIndex: 0, leaderId: 2, replicaNodes: [2], isrNodes: [2] }] }],
  });
  const parsed = await metadataV1Response.decode(ours);
  assert.deepStrictEqual(parsed.brokers, [{ nodeId: 2, host: 'h', port: 19092, rack: 'r1' }]);
  assert.equal(parsed.controllerId, 2);
  assert.equal(parsed.topicMetadata[0].topic, 'a');
  assert.deepStrictEqual(parsed.topicMetadata[0].partitionMetadata[0].isr, [2]);
});
