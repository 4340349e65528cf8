/**
 * DescribeLogDirs: the data directory as the one log directory, with the size of every asked-for
 * partition's segments (null topics: every partition), as Kafka's ReplicaManager.describeLogDirs
 * answers. Partitions this broker does not have are left out, and a directory with none asked for
 * is still listed, as in Kafka. The volume's total and usable bytes come from v4.
 */
import { DescribeLogDirs, type DescribeLogDirsResponseInput } from '../../protocol/api/describe-log-dirs.js';
import { ErrorCode } from '../../protocol/api/error-codes.js';
import { authorizeCluster } from '../authorizer.js';
import { defineHandler } from './handler.js';

type PartitionResult = DescribeLogDirsResponseInput['results'][number]['topics'][number]['partitions'][number];

export const describeLogDirsHandler = defineHandler({
  api: DescribeLogDirs,
  async handle(ctx, request) {
    // As Kafka: DESCRIBE on the cluster, else no log directory (and CLUSTER_AUTHORIZATION_FAILED from v3).
    if (!authorizeCluster(ctx, 'DESCRIBE')) return { throttleTimeMs: 0, errorCode: ErrorCode.CLUSTER_AUTHORIZATION_FAILED, results: [] };
    const wanted = request.topics === null ? null : request.topics.flatMap(({ topic, partitions }) => partitions.map((partition) => ({ topic, partition })));
    const described = await ctx.broker.describeLogDir(wanted);
    const byTopic = new Map<string, PartitionResult[]>();
    for (const { topic, partition, sizeBytes, offsetLag } of described.partitions) {
      let partitions = byTopic.get(topic);
      if (partitions === undefined) byTopic.set(topic, (partitions = []));
      partitions.push({ partitionIndex: partition, partitionSize: sizeBytes, offsetLag, isFutureKey: false });
    }
    return {
      throttleTimeMs: 0,
      errorCode: ErrorCode.NONE,
      results: [
        {
          errorCode: ErrorCode.NONE,
          logDir: described.dir,
          topics: [...byTopic].map(([name, partitions]) => ({ name, partitions })),
          totalBytes: described.totalBytes,
          usableBytes: described.usableBytes,
        },
      ],
    };
  },
});
