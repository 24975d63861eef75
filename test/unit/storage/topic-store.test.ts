import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { META_PROPERTIES_FILE, TOPICS_FILE, TopicStore, TopicStoreError, randomKafkaUuid } from '../../../src/storage/topic-store.js';
import { tmpDir } from './storage-helpers.js';

describe('TopicStore', () => {
  it('creates meta.properties once with a Kafka-style cluster id', () => {
    const dir = tmpDir();
    const store = TopicStore.open(dir, { nodeId: 3 });
    assert.match(store.clusterId, /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
    assert.equal(store.nodeId, 3);
    const meta = fs.readFileSync(path.join(dir, META_PROPERTIES_FILE), 'utf8');
    assert.match(meta, new RegExp(`^cluster\\.id=${store.clusterId}$`, 'm'));
    assert.match(meta, /^node\.id=3$/m);
    assert.match(meta, /^version=1$/m);
    const again = TopicStore.open(dir);
    assert.equal(again.clusterId, store.clusterId);
    assert.equal(again.nodeId, 3);
    assert.throws(() => TopicStore.open(dir, { nodeId: 4 }), (err: unknown) => err instanceof TopicStoreError && err.code === 'ERR_NODE_ID_MISMATCH');
  });

  it('persists topics across restarts', async () => {
    const dir = tmpDir();
    const store = TopicStore.open(dir);
    store.putTopic({ name: 'a', topicId: '3f0c2a52-8a5e-4d37-9d0f-1a2b3c4d5e6f', partitions: 3, config: { 'retention.ms': '1000' } });
    store.putTopic({ name: 'b', topicId: '00000000-0000-4000-8000-000000000001', partitions: 1, config: {} });
    await store.save();
    store.deleteTopic('b');
    store.putTopic({ name: 'c', topicId: '11111111-0000-4000-8000-000000000002', partitions: 2, config: {} });
    await store.save();
    const again = TopicStore.open(dir);
    assert.equal(again.clusterId, store.clusterId);
    assert.deepEqual(again.topics(), [
      { name: 'a', topicId: '3f0c2a52-8a5e-4d37-9d0f-1a2b3c4d5e6f', partitions: 3, config: { 'retention.ms': '1000' } },
      { name: 'c', topicId: '11111111-0000-4000-8000-000000000002', partitions: 2, config: {} },
    ]);
    assert.equal(again.getTopic('b'), undefined);
  });

  it('coalesces concurrent saves and always ends with the newest state', async () => {
    const dir = tmpDir();
    const store = TopicStore.open(dir);
    const saves: Promise<void>[] = [];
    for (let i = 0; i < 20; i++) {
      store.putTopic({ name: `t${i}`, topicId: `id-${i}`, partitions: 1, config: {} });
      saves.push(store.save());
    }
    await Promise.all(saves);
    assert.ok(new Set(saves).size <= 3, `${new Set(saves).size} distinct writes`);
    assert.equal(TopicStore.open(dir).topics().length, 20);
  });

  it('ignores the temp file of a save interrupted by a crash', async () => {
    const dir = tmpDir();
    const store = TopicStore.open(dir);
    store.putTopic({ name: 'kept', topicId: 'x', partitions: 1, config: {} });
    await store.save();
    fs.writeFileSync(path.join(dir, `${TOPICS_FILE}.tmp`), '{"version":1,"topics":[{"name":"half-writ');
    const again = TopicStore.open(dir);
    assert.deepEqual(again.topics().map((t) => t.name), ['kept']);
    assert.ok(!fs.existsSync(path.join(dir, `${TOPICS_FILE}.tmp`)));
  });

  it('refuses a corrupt topics file rather than forgetting topics', () => {
    const dir = tmpDir();
    TopicStore.open(dir);
    fs.writeFileSync(path.join(dir, TOPICS_FILE), '{"version":1,"topics":[{"name":"x"}]}');
    assert.throws(() => TopicStore.open(dir), (err: unknown) => err instanceof TopicStoreError && err.code === 'ERR_TOPIC_STORE_CORRUPT');
    fs.writeFileSync(path.join(dir, TOPICS_FILE), 'not json');
    assert.throws(() => TopicStore.open(dir), TopicStoreError);
  });

  it('generates uuids in Kafka string form', () => {
    for (let i = 0; i < 200; i++) {
      const id = randomKafkaUuid();
      assert.equal(id.length, 22);
      assert.equal(Buffer.from(id, 'base64url').length, 16);
      assert.ok(!id.startsWith('-'));
    }
  });
});
