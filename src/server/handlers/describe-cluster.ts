// DescribeCluster (key 60), v0-1. The live brokers and the controller: a single-node broker is its own; in a
// cluster, the broker etcd elected (every broker answers the same, from its image). endpointType 2 (controllers,
// KIP-919) is answered with the same brokers, since every broker can act as controller. Authorized operations
// when asked: all of them (no authorizer).
import { brokersOn } from '../replication.js';
import { DescribeClusterRequest } from '../../protocol/generated/describe-cluster-request.js';
import { DescribeClusterResponse, type DescribeClusterResponseInit } from '../../protocol/generated/describe-cluster-response.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import { defineHandler } from '../handler.js';
import { authorizedOperations } from '../authorized-operations.js';

export default defineHandler({
  request: DescribeClusterRequest,
  response: DescribeClusterResponse,
  handle(req, ctx): DescribeClusterResponseInit {
    const b = ctx.broker;
    if (ctx.apiVersion >= 1 && req.endpointType !== 1 && req.endpointType !== 2) {
      return { errorCode: ErrorCode.UNSUPPORTED_ENDPOINT_TYPE, errorMessage: `Unsupported endpoint type ${req.endpointType}`, endpointType: req.endpointType, clusterId: b.clusterId, brokers: [] };
    }
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      errorMessage: null,
      endpointType: req.endpointType,
      clusterId: b.clusterId,
      controllerId: b.replication.controllerId(),
      brokers: brokersOn(b.replication.brokers(), ctx.session?.listenerName).map((e) => ({ brokerId: e.nodeId, host: e.host, port: e.port, rack: e.rack })),
      // As Kafka: the operations only for a caller with DESCRIBE on the cluster (0 otherwise).
      clusterAuthorizedOperations: authorizedOperations(req.includeClusterAuthorizedOperations, () => b.authorizer.clusterOperations(ctx)),
    };
  },
});
