/**
 * Redis Streams as a peer: a redis-server started on 127.0.0.1 with a temporary directory, no
 * RDB snapshots, and either no AOF (in memory only) or AOF with fsync every second (Redis's
 * durable setting closest to Sluice's page-cache append); records go in with XADD, pipelined,
 * from Node through ioredis, and once more from redis-benchmark (C) to show what the server
 * takes when the client costs nothing.
 */
import { Redis } from 'ioredis';
import { freePort, waitForPort, type ProcessGroup } from './processes.js';
import { measureSends, type PeerMeasurement, type PeerWorkload } from './workload.js';

export type RedisAof = 'off' | 'everysec';

const STREAM_KEY = 'sluice-compare';

async function startRedis(group: ProcessGroup, dir: string, aof: RedisAof) {
  const port = await freePort();
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--daemonize', 'no', '--protected-mode', 'no', '--logfile', ''];
  args.push(...(aof === 'off' ? ['--appendonly', 'no'] : ['--appendonly', 'yes', '--appendfsync', 'everysec']));
  const server = group.start(`redis-server (AOF ${aof})`, 'redis-server', args);
  try {
    await waitForPort(port, server);
  } catch (error) {
    await group.stop(server);
    throw error;
  }
  return { port, server };
}

async function streamLength(port: number): Promise<number> {
  const redis = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false });
  await redis.connect();
  try {
    return await redis.xlen(STREAM_KEY);
  } finally {
    redis.disconnect();
  }
}

/**
 * XADD of the same record count and value size by redis-benchmark over one connection with
 * pipelines of `sendRecords`. Its values are one repeated byte (it takes them on the command
 * line); Redis stores them as they are, so the content does not change its work.
 */
export async function runRedisBenchmarkC(group: ProcessGroup, dir: string, workload: PeerWorkload): Promise<PeerMeasurement> {
  const { port, server } = await startRedis(group, dir, 'off');
  try {
    const tool = group.start('redis-benchmark', 'redis-benchmark', [
      '-h', '127.0.0.1', '-p', String(port), '-c', '1', '-P', String(workload.sendRecords), '-n', String(workload.records), '--csv',
      'XADD', STREAM_KEY, '*', 'v', 'x'.repeat(workload.recordSizeBytes),
    ]);
    const code = await tool.exited;
    if (code !== 0) throw new Error(`redis-benchmark exited with ${code}:\n${tool.output()}`);
    // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
    const row = tool.output().split('\n').find((line) => line.startsWith('"XADD'));
    if (row === undefined) throw new Error(`redis-benchmark printed no XADD row:\n${tool.output()}`);
    const [rps, , , p50, p95, p99, max] = row.split('","').slice(1).map((cell) => Number(cell.replace(/"/g, '')));
    const length = await streamLength(port);
    if (length !== workload.records) throw new Error(`Redis stream holds ${length} entries after ${workload.records} XADDs`);
    return {
      records: workload.records,
      seconds: workload.records / rps,
      recordsPerSec: rps,
      mbPerSec: (rps * workload.recordSizeBytes) / 1e6,
      latencyMs: { p50, p95, p99, p999: null, max },
    };
  } finally {
    await group.stop(server);
  }
}

export async function runRedisStreams(group: ProcessGroup, dir: string, aof: RedisAof, workload: PeerWorkload): Promise<PeerMeasurement> {
  const { port, server } = await startRedis(group, dir, aof);
  try {
    const redis = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false });
    // A failure reaches the pipeline's exec() as a rejection; the event would only repeat it.
    redis.on('error', () => {});
    await redis.connect();
    try {
      const measurement = await measureSends(async (messages) => {
        const pipeline = redis.pipeline();
        for (const message of messages) pipeline.xadd(STREAM_KEY, '*', 'v', message.value);
        const replies = await pipeline.exec();
        const failed = replies?.find(([error]) => error !== null);
        if (failed !== undefined) throw failed[0];
      }, workload);
      const length = await redis.xlen(STREAM_KEY);
      if (length !== measurement.records) throw new Error(`Redis stream holds ${length} entries after ${measurement.records} XADDs`);
      return measurement;
    } finally {
      redis.disconnect();
    }
  } finally {
    await group.stop(server);
  }
}
