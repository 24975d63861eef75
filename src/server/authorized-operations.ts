/**
 * `include_*_authorized_operations` (Metadata, DescribeCluster, DescribeGroups, ConsumerGroupDescribe).
 * A bit field with bit n set for AclOperation code n. With an authorizer the handlers answer from the ACLs
 * (BrokerAuthorizer.operations, server/authorization.ts); without one, as Kafka, every operation valid for the
 * resource type (AclEntry.supportedOperations: the constants below).
 * A response not asked for them keeps the field's "not requested" value, -2^31.
 */

/** Kafka's AclOperation codes. */
export const AclOperation = {
  READ: 3,
  WRITE: 4,
  CREATE: 5,
  DELETE: 6,
  ALTER: 7,
  DESCRIBE: 8,
  CLUSTER_ACTION: 9,
  DESCRIBE_CONFIGS: 10,
  ALTER_CONFIGS: 11,
  IDEMPOTENT_WRITE: 12,
} as const;

export const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;

const field = (ops: readonly number[]): number => ops.reduce((bits, op) => bits | (1 << op), 0);
const A = AclOperation;

/** Every operation on a topic: 3576. */
export const TOPIC_OPERATIONS = field([A.READ, A.WRITE, A.CREATE, A.DESCRIBE, A.DELETE, A.ALTER, A.DESCRIBE_CONFIGS, A.ALTER_CONFIGS]);
/** Every operation on a group (configs since KIP-848's group configs): 3400. */
export const GROUP_OPERATIONS = field([A.READ, A.DESCRIBE, A.DELETE, A.DESCRIBE_CONFIGS, A.ALTER_CONFIGS]);
/** Every operation on the cluster: 8096. */
export const CLUSTER_OPERATIONS = field([A.CREATE, A.CLUSTER_ACTION, A.DESCRIBE_CONFIGS, A.ALTER_CONFIGS, A.IDEMPOTENT_WRITE, A.ALTER, A.DESCRIBE]);

/** The field's value: the full set when requested, else the "not requested" marker. */
export function authorizedOperations(requested: boolean, operations: number): number {
  return requested ? operations : AUTHORIZED_OPERATIONS_OMITTED;
}
