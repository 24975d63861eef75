/**
 * `include_*_authorized_operations` (Metadata, DescribeCluster, DescribeGroups, ConsumerGroupDescribe): a bit field
 * with bit n set for AclOperation code n, answered by BrokerAuthorizer.operations (server/authorization.ts) — from
 * the ACLs, or without an authorizer, as Kafka, every operation valid for the resource type.
 * A response not asked for them keeps the field's "not requested" value, -2^31.
 */

const AUTHORIZED_OPERATIONS_OMITTED = -2147483648;

/** The field's value: `operations()` when requested (computed only then), else the "not requested" marker. */
export function authorizedOperations(requested: boolean, operations: () => number): number {
  return requested ? operations() : AUTHORIZED_OPERATIONS_OMITTED;
}
