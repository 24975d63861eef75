// DescribeLogDirs (key 35), v0-4. One log directory (the data dir) holding every partition this broker has a
// replica of (in a cluster, only those: a partition with no local log is left out, as Kafka does).
import { statfsSync } from 'node:fs';
import { resolve } from 'node:path';
import { DescribeLogDirsRequest } from '../../protocol/generated/describe-log-dirs-request.js';
import { DescribeLogDirsResponse, type DescribeLogDirsResponseInit, type DescribeLogDirsTopicInit } from '../../protocol/generated/describe-log-dirs-response.js';
import { ErrorCode } from '../../protocol/generated/error-codes.js';
import { defineHandler } from '../handler.js';
import { Operation } from '../../security/authorizer.js';

export default defineHandler({
  request: DescribeLogDirsRequest,
  response: DescribeLogDirsResponse,
  handle(req, ctx): DescribeLogDirsResponseInit {
    const b = ctx.broker;
    // Kafka: DESCRIBE on the cluster (no results otherwise; v3+ says why).
    if (!b.authorizer.authorizeCluster(ctx, Operation.DESCRIBE)) return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, results: [] };
    const wanted = req.topics === null
      ? b.topics.list().map((t) => ({ topic: t.name, partitions: Array.from({ length: t.partitions }, (_, i) => i) }))
      : req.topics;
    const topics: DescribeLogDirsTopicInit[] = [];
    for (const w of wanted) {
      const partitions = [];
      for (const p of w.partitions) {
        const log = b.topics.tryLog(w.topic, p);
        if (log) partitions.push({ partitionIndex: p, partitionSize: BigInt(log.size()), offsetLag: 0n, isFutureKey: false });
      }
      if (partitions.length > 0) topics.push({ name: w.topic, partitions });
    }
    let totalBytes = -1n;
    let usableBytes = -1n;
    try {
      const fs = statfsSync(b.dataDir);
      totalBytes = BigInt(fs.blocks) * BigInt(fs.bsize);
      usableBytes = BigInt(fs.bavail) * BigInt(fs.bsize);
    } catch {
      // Unknown sizes are reported as -1, as Kafka does.
    }
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      results: [{ errorCode: ErrorCode.NONE, logDir: resolve(b.dataDir), topics, totalBytes, usableBytes }],
    };
  },
});
