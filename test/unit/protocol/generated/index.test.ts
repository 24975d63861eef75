import { test } from 'node:test';
import assert from 'node:assert/strict';
import { apiMessages, requestHeaderVersion, responseHeaderVersion } from '../../../../src/protocol/generated/index.js';
import { ErrorCode, errorCodeName, retriableErrors } from '../../../../src/protocol/generated/error-codes.js';
import { UnsupportedVersionError } from '../../../../src/protocol/primitives/codec.js';
import { loadEntries, needsKafkaReference } from '../helpers/spec-values.js';

test('apiMessages holds every API of the specs, request and response matched by key', needsKafkaReference, async () => {
  const entries = await loadEntries();
  const requests = entries.filter((e) => e.model.type === 'request');
  assert.equal(apiMessages.size, requests.length);
  for (const { model } of requests) {
    const api = apiMessages.get(model.apiKey);
    assert.ok(api, `api key ${model.apiKey}`);
    assert.equal(api.request.apiKey, model.apiKey);
    assert.equal(api.response.apiKey, model.apiKey);
    assert.equal(api.request.type, 'request');
    assert.equal(api.response.type, 'response');
    assert.equal(api.name, api.request.name);
    assert.equal(api.request.maxVersion, api.response.maxVersion, api.name);
  }
  assert.equal(apiMessages.get(0)?.name, 'Produce');
  assert.equal(apiMessages.get(18)?.name, 'ApiVersions');
  assert.deepStrictEqual([...apiMessages.keys()], [...apiMessages.keys()].sort((a, b) => a - b));
});

test('request header version: 2 for flexible request versions, else 1', () => {
  assert.equal(requestHeaderVersion(0, 8), 1); // Produce, flexible from v9
  assert.equal(requestHeaderVersion(0, 9), 2);
  assert.equal(requestHeaderVersion(18, 2), 1); // ApiVersions, flexible from v3
  assert.equal(requestHeaderVersion(18, 3), 2);
  assert.equal(requestHeaderVersion(18, 99), 2); // a too-new ApiVersions request still parses its header
  assert.equal(requestHeaderVersion(7, 0), 0); // ControlledShutdown v0 predates client ids
  assert.equal(requestHeaderVersion(7, 1), 1);
  assert.throws(() => requestHeaderVersion(9999, 0), UnsupportedVersionError);
});

test('response header version: 1 for flexible versions, else 0, and always 0 for ApiVersions', () => {
  assert.equal(responseHeaderVersion(3, 8), 0); // Metadata, flexible from v9
  assert.equal(responseHeaderVersion(3, 9), 1);
  assert.equal(responseHeaderVersion(1, 12), 1); // Fetch
  assert.equal(responseHeaderVersion(18, 3), 0);
  assert.equal(responseHeaderVersion(18, 4), 0);
  assert.throws(() => responseHeaderVersion(-5, 0), UnsupportedVersionError);
});

test('error codes: names, numbers, retriable flags and reverse lookup', () => {
  assert.equal(ErrorCode.UNKNOWN_SERVER_ERROR, -1);
  assert.equal(ErrorCode.NONE, 0);
  assert.equal(ErrorCode.OFFSET_OUT_OF_RANGE, 1);
  assert.equal(ErrorCode.CORRUPT_MESSAGE, 2);
  assert.equal(ErrorCode.NOT_LEADER_OR_FOLLOWER, 6);
  assert.equal(ErrorCode.UNSUPPORTED_VERSION, 35);
  assert.equal(ErrorCode.INVALID_REQUEST, 42);
  assert.equal(ErrorCode.TRANSACTION_ABORTABLE, 120);
  assert.ok(retriableErrors.has(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION));
  assert.ok(retriableErrors.has(ErrorCode.NOT_COORDINATOR));
  assert.ok(!retriableErrors.has(ErrorCode.OFFSET_OUT_OF_RANGE));
  assert.ok(!retriableErrors.has(ErrorCode.NONE));
  assert.equal(errorCodeName(36), 'TOPIC_ALREADY_EXISTS');
  assert.equal(errorCodeName(-1), 'UNKNOWN_SERVER_ERROR');
  assert.equal(errorCodeName(100000), undefined);
  // Dense from -1 upwards: no gaps, no duplicates.
  const codes = Object.values(ErrorCode).sort((a, b) => a - b);
  assert.deepStrictEqual(codes, codes.map((_, i) => i - 1));
});
