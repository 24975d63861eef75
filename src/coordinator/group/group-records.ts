/**
 * The group coordinator's records in `__consumer_offsets`, in Kafka's layouts (internal-records/*.json):
 * key = int16 key version + struct (0/1 OffsetCommitKey, 2 GroupMetadataKey), value = int16 value version
 * + struct, or null (a tombstone: the offset or group is deleted). We write OffsetCommitKey v1 with
 * OffsetCommitValue v3 (v1 when an explicit expire timestamp is set) and GroupMetadataValue v3, as Kafka
 * does. Other key versions (KIP-848 and share groups) are not ours yet and are skipped on replay.
 */
import { Reader } from '../../protocol/primitives/reader.js';
import { OffsetCommitKey } from '../../protocol/generated/internal/offset-commit-key.js';
import { OffsetCommitValue } from '../../protocol/generated/internal/offset-commit-value.js';
import { GroupMetadataKey } from '../../protocol/generated/internal/group-metadata-key.js';
import { GroupMetadataValue } from '../../protocol/generated/internal/group-metadata-value.js';
import { decodeVersioned, encodeVersioned, type CoordinatorRecord, type RecordSerde } from '../runtime.js';

export interface OffsetAndMetadata {
  offset: number;
  leaderEpoch: number;
  metadata: string;
  commitTimestamp: number;
  /** -1 unless the commit asked for its own retention (OffsetCommit v2-4). */
  expireTimestamp: number;
}

export type GroupRecord =
  | { type: 'offset'; group: string; topic: string; partition: number; value: OffsetAndMetadata | null }
  | { type: 'group'; group: string; value: GroupMetadataValue | null };

export type { GroupMetadataValue };

export const groupRecordSerde: RecordSerde<GroupRecord> = {
  partitionKey: (rec) => rec.group,

  encode(rec): CoordinatorRecord {
    if (rec.type === 'offset') {
      const key = encodeVersioned(OffsetCommitKey, 1, { group: rec.group, topic: rec.topic, partition: rec.partition });
      const v = rec.value;
      if (v === null) return { key, value: null };
      const version = v.expireTimestamp >= 0 ? 1 : 3;
      return {
        key,
        value: encodeVersioned(OffsetCommitValue, version, {
          offset: BigInt(v.offset), leaderEpoch: v.leaderEpoch, metadata: v.metadata,
          commitTimestamp: BigInt(v.commitTimestamp), expireTimestamp: BigInt(v.expireTimestamp),
        }),
      };
    }
    const key = encodeVersioned(GroupMetadataKey, 2, { group: rec.group });
    return { key, value: rec.value === null ? null : encodeVersioned(GroupMetadataValue, 3, rec.value) };
  },

  decode(raw): GroupRecord | null {
    const kr = new Reader(raw.key);
    const keyVersion = kr.readInt16();
    if (keyVersion === 0 || keyVersion === 1) {
      const k = OffsetCommitKey.decode(kr, keyVersion);
      if (raw.value === null) return { type: 'offset', group: k.group, topic: k.topic, partition: k.partition, value: null };
      const v = decodeVersioned(OffsetCommitValue, raw.value);
      return {
        type: 'offset', group: k.group, topic: k.topic, partition: k.partition,
        value: {
          offset: Number(v.offset), leaderEpoch: v.leaderEpoch, metadata: v.metadata,
          commitTimestamp: Number(v.commitTimestamp), expireTimestamp: Number(v.expireTimestamp),
        },
      };
    }
    if (keyVersion === 2) {
      const k = GroupMetadataKey.decode(kr, keyVersion);
      if (raw.value === null) return { type: 'group', group: k.group, value: null };
      return { type: 'group', group: k.group, value: decodeVersioned(GroupMetadataValue, raw.value) };
    }
    return null;
  },
};
