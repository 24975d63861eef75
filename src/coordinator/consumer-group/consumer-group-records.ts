/**
 * KIP-848 consumer-group records in `__consumer_offsets`, in Kafka's layouts (internal-records/*.json):
 * key = int16 key version + struct, value = int16 value version (0) + struct, or null (tombstone).
 *
 *   key 3 ConsumerGroupMetadata           group epoch                       (tombstone: group deleted)
 *   key 4 ConsumerGroupPartitionMetadata  subscribed topics' ids and sizes
 *   key 5 ConsumerGroupMemberMetadata     a member's subscription            (tombstone: member removed)
 *   key 6 ConsumerGroupTargetAssignmentMetadata  assignment epoch
 *   key 7 ConsumerGroupTargetAssignmentMember    a member's target assignment
 *   key 8 ConsumerGroupCurrentMemberAssignment   a member's epoch, state, assigned and revoking partitions
 *
 * `group` on every record is the partition key (the group id), as for the classic group records.
 */
import { Reader } from '../../protocol/primitives/reader.js';
import { ConsumerGroupMetadataKey } from '../../protocol/generated/internal/consumer-group-metadata-key.js';
import { ConsumerGroupMetadataValue } from '../../protocol/generated/internal/consumer-group-metadata-value.js';
import { ConsumerGroupPartitionMetadataKey } from '../../protocol/generated/internal/consumer-group-partition-metadata-key.js';
import { ConsumerGroupPartitionMetadataValue } from '../../protocol/generated/internal/consumer-group-partition-metadata-value.js';
import { ConsumerGroupMemberMetadataKey } from '../../protocol/generated/internal/consumer-group-member-metadata-key.js';
import { ConsumerGroupMemberMetadataValue } from '../../protocol/generated/internal/consumer-group-member-metadata-value.js';
import { ConsumerGroupTargetAssignmentMetadataKey } from '../../protocol/generated/internal/consumer-group-target-assignment-metadata-key.js';
import { ConsumerGroupTargetAssignmentMetadataValue } from '../../protocol/generated/internal/consumer-group-target-assignment-metadata-value.js';
import { ConsumerGroupTargetAssignmentMemberKey } from '../../protocol/generated/internal/consumer-group-target-assignment-member-key.js';
import { ConsumerGroupTargetAssignmentMemberValue } from '../../protocol/generated/internal/consumer-group-target-assignment-member-value.js';
import { ConsumerGroupCurrentMemberAssignmentKey } from '../../protocol/generated/internal/consumer-group-current-member-assignment-key.js';
import { ConsumerGroupCurrentMemberAssignmentValue } from '../../protocol/generated/internal/consumer-group-current-member-assignment-value.js';
import type { MessageCodec } from '../../protocol/primitives/codec.js';
import { decodeVersioned, encodeVersioned, type CoordinatorRecord, type RecordSerde } from '../runtime.js';

export type ConsumerGroupRecord =
  | { type: 'ConsumerGroupMetadata'; group: string; value: ConsumerGroupMetadataValue | null }
  | { type: 'ConsumerGroupPartitionMetadata'; group: string; value: ConsumerGroupPartitionMetadataValue | null }
  | { type: 'ConsumerGroupMemberMetadata'; group: string; memberId: string; value: ConsumerGroupMemberMetadataValue | null }
  | { type: 'ConsumerGroupTargetAssignmentMetadata'; group: string; value: ConsumerGroupTargetAssignmentMetadataValue | null }
  | { type: 'ConsumerGroupTargetAssignmentMember'; group: string; memberId: string; value: ConsumerGroupTargetAssignmentMemberValue | null }
  | { type: 'ConsumerGroupCurrentMemberAssignment'; group: string; memberId: string; value: ConsumerGroupCurrentMemberAssignmentValue | null };

export type {
  ConsumerGroupMetadataValue, ConsumerGroupPartitionMetadataValue, ConsumerGroupMemberMetadataValue,
  ConsumerGroupTargetAssignmentMetadataValue, ConsumerGroupTargetAssignmentMemberValue, ConsumerGroupCurrentMemberAssignmentValue,
};

/** The key version of each record type (it is the record type on disk). */
export const CONSUMER_GROUP_KEY_VERSIONS = {
  ConsumerGroupMetadata: 3,
  ConsumerGroupPartitionMetadata: 4,
  ConsumerGroupMemberMetadata: 5,
  ConsumerGroupTargetAssignmentMetadata: 6,
  ConsumerGroupTargetAssignmentMember: 7,
  ConsumerGroupCurrentMemberAssignment: 8,
} as const;

const VALUE_VERSION = 0;

function decodeValue<T>(codec: MessageCodec<T, any>, buf: Buffer | null): T | null {
  return buf === null ? null : decodeVersioned(codec, buf);
}

/** decode returns null for other key versions. */
export const consumerGroupRecordSerde: RecordSerde<ConsumerGroupRecord> = {
  partitionKey: (rec) => rec.group,

  encode(rec): CoordinatorRecord {
    const kv = CONSUMER_GROUP_KEY_VERSIONS[rec.type];
    switch (rec.type) {
      case 'ConsumerGroupMetadata':
        return {
          key: encodeVersioned(ConsumerGroupMetadataKey, kv, { groupId: rec.group }),
          value: rec.value && encodeVersioned(ConsumerGroupMetadataValue, VALUE_VERSION, rec.value),
        };
      case 'ConsumerGroupPartitionMetadata':
        return {
          key: encodeVersioned(ConsumerGroupPartitionMetadataKey, kv, { groupId: rec.group }),
          value: rec.value && encodeVersioned(ConsumerGroupPartitionMetadataValue, VALUE_VERSION, rec.value),
        };
      case 'ConsumerGroupMemberMetadata':
        return {
          key: encodeVersioned(ConsumerGroupMemberMetadataKey, kv, { groupId: rec.group, memberId: rec.memberId }),
          value: rec.value && encodeVersioned(ConsumerGroupMemberMetadataValue, VALUE_VERSION, rec.value),
        };
      case 'ConsumerGroupTargetAssignmentMetadata':
        return {
          key: encodeVersioned(ConsumerGroupTargetAssignmentMetadataKey, kv, { groupId: rec.group }),
          value: rec.value && encodeVersioned(ConsumerGroupTargetAssignmentMetadataValue, VALUE_VERSION, rec.value),
        };
      case 'ConsumerGroupTargetAssignmentMember':
        return {
          key: encodeVersioned(ConsumerGroupTargetAssignmentMemberKey, kv, { groupId: rec.group, memberId: rec.memberId }),
          value: rec.value && encodeVersioned(ConsumerGroupTargetAssignmentMemberValue, VALUE_VERSION, rec.value),
        };
      case 'ConsumerGroupCurrentMemberAssignment':
        return {
          key: encodeVersioned(ConsumerGroupCurrentMemberAssignmentKey, kv, { groupId: rec.group, memberId: rec.memberId }),
          value: rec.value && encodeVersioned(ConsumerGroupCurrentMemberAssignmentValue, VALUE_VERSION, rec.value),
        };
    }
  },

  decode(raw): ConsumerGroupRecord | null {
    const r = new Reader(raw.key);
    const kv = r.readInt16();
    switch (kv) {
      case 3:
        return { type: 'ConsumerGroupMetadata', group: ConsumerGroupMetadataKey.decode(r, kv).groupId, value: decodeValue(ConsumerGroupMetadataValue, raw.value) };
      case 4:
        return { type: 'ConsumerGroupPartitionMetadata', group: ConsumerGroupPartitionMetadataKey.decode(r, kv).groupId, value: decodeValue(ConsumerGroupPartitionMetadataValue, raw.value) };
      case 5: {
        const k = ConsumerGroupMemberMetadataKey.decode(r, kv);
        return { type: 'ConsumerGroupMemberMetadata', group: k.groupId, memberId: k.memberId, value: decodeValue(ConsumerGroupMemberMetadataValue, raw.value) };
      }
      case 6:
        return { type: 'ConsumerGroupTargetAssignmentMetadata', group: ConsumerGroupTargetAssignmentMetadataKey.decode(r, kv).groupId, value: decodeValue(ConsumerGroupTargetAssignmentMetadataValue, raw.value) };
      case 7: {
        const k = ConsumerGroupTargetAssignmentMemberKey.decode(r, kv);
        return { type: 'ConsumerGroupTargetAssignmentMember', group: k.groupId, memberId: k.memberId, value: decodeValue(ConsumerGroupTargetAssignmentMemberValue, raw.value) };
      }
      case 8: {
        const k = ConsumerGroupCurrentMemberAssignmentKey.decode(r, kv);
        return { type: 'ConsumerGroupCurrentMemberAssignment', group: k.groupId, memberId: k.memberId, value: decodeValue(ConsumerGroupCurrentMemberAssignmentValue, raw.value) };
      }
      default:
        return null;
    }
  },
};
