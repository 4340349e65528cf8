/**
 * What replication costs a producer: `sluice perf produce` over the Kafka protocol (kafkajs, one
 * partition, 100-byte values, --send-records 1000, 8 sends in flight) against a local cluster of
 * three `sluice serve --zookeeper` brokers and ZooKeeper (LocalCluster, as `sluice cluster up`),
 * in one run on one machine, each scenario on a fresh cluster:
 *
 *  - acks=1 on a topic with replication factor 1: the leader's own write;
 *  - acks=1 on replication factor 3 (min.insync.replicas=2): the same, while two followers fetch;
 *  - acks=all on replication factor 3: each send waits until both followers have fetched it.
 *
 * records/s and the send-to-acknowledgement latency percentiles come from `sluice perf`.
 * `--cpu-prof DIR` starts the acks=all scenario's brokers with `node --cpu-prof`
 * and prints, for the partition's leader, the functions with the most self time on its main
 * thread (start-up included; the shard threads' profiles are in DIR too).
 *
 *   npm run build && node dist/bench/cluster.bench.js [--records 200000] [--dir /path] [--cpu-prof DIR] [--json]
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { LocalCluster } from '../src/cluster/local-cluster.js';
import { runPerf } from '../src/perf/run-perf.js';
import { benchEnvironment, describeEnvironment, isMainModule, parseBenchArgs, type BenchEnvironment } from './support.js';

export interface ClusterBenchOptions {
  /** Records each scenario produces. Default 200,000. */
  records?: number;
  /** Parent of the cluster's directories. Default the OS temp dir. */
  dir?: string;
  /** Start the brokers with --cpu-prof, profiles into this directory. */
  cpuProfDir?: string;
}

export interface ClusterBenchResult {
  name: string;
  replicationFactor: number;
  acks: 'all' | '1';
  recordsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** recordsPerSec / acks=1 RF 1's. */
  ratioToUnreplicated: number;
  /** The partition's leader. */
  leader: number;
}

export interface ClusterBenchReport {
  environment: BenchEnvironment;
  records: number;
  results: ClusterBenchResult[];
  /** With --cpu-prof: the acks=all leader's main-thread functions by self time, as "share% function (file:line)". */
  leaderProfile: string[] | null;
}

async function untilClusterComplete(admin: Admin, brokers: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const cluster = await admin.describeCluster();
    if (cluster.brokers.length >= brokers && cluster.controller !== null && cluster.controller >= 0) return;
    if (Date.now() > deadline) throw new Error(`the cluster did not show ${brokers} brokers and a controller within ${timeoutMs} ms (it shows ${cluster.brokers.length}, controller ${cluster.controller})`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** One record produced with acks=all, retried until the ISR has it within the deadline. */
async function untilReplicated(kafka: Kafka, topic: string, timeoutMs: number): Promise<void> {
  const producer = kafka.producer({ retry: { retries: 0 } });
  await producer.connect();
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      try {
        await producer.send({ topic, acks: -1, timeout: timeoutMs, messages: [{ value: 'warm-up' }] });
        return;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  } finally {
    await producer.disconnect();
  }
}

const SCENARIOS = [
  { name: 'acks=1, replication factor 1', topic: 'rf1-acks1', replicationFactor: 1, acks: '1' as const },
  { name: 'acks=1, replication factor 3', topic: 'rf3-acks1', replicationFactor: 3, acks: '1' as const },
  { name: 'acks=all, replication factor 3, min.insync.replicas=2', topic: 'rf3-acksall', replicationFactor: 3, acks: 'all' as const },
];
const RECORD_BYTES = 100;

export async function runClusterBench(options: ClusterBenchOptions = {}): Promise<ClusterBenchReport> {
  const records = options.records ?? 200_000;
  const environment = benchEnvironment();
  const results: ClusterBenchResult[] = [];
  let leaderProfile: string[] | null = null;
  for (const scenario of SCENARIOS) {
    // A cluster of its own per scenario: each starts from empty logs, and a profile holds one scenario.
    const profiled = options.cpuProfDir !== undefined && scenario.acks === 'all';
    const root = mkdtempSync(path.join(options.dir ?? os.tmpdir(), 'sluice-cluster-bench-'));
    let cluster: LocalCluster | null = null;
    let leaderPid = -1;
    try {
      cluster = await LocalCluster.start({ dir: root, brokers: 3, ...(profiled ? { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${path.resolve(options.cpuProfDir!)}`] } : {}) });
      const bootstrap = `127.0.0.1:${cluster.brokers.get(1)!.port}`;
      const kafka = new Kafka({ clientId: 'cluster-bench', brokers: [bootstrap], logLevel: logLevel.NOTHING });
      const admin = kafka.admin();
      await admin.connect();
      let leader: number;
      try {
        // Every broker printed `listening on`, but the one asked may not see the others and a
        // controller yet: replication factor 3 would be refused (INVALID_REPLICATION_FACTOR).
        await untilClusterComplete(admin, 3, 30_000);
        await admin.createTopics({
          topics: [{ topic: scenario.topic, numPartitions: 1, replicationFactor: scenario.replicationFactor, configEntries: [{ name: 'min.insync.replicas', value: String(Math.min(2, scenario.replicationFactor)) }] }],
          waitForLeaders: true,
          // A cluster's CreateTopics answers once the controller put the partitions online: seconds on a busy machine.
          timeout: 30_000,
        });
        leader = (await admin.fetchTopicMetadata({ topics: [scenario.topic] })).topics[0].partitions[0].leader;
      } finally {
        await admin.disconnect();
      }
      leaderPid = cluster.brokers.get(leader)!.process!.pid!;
      // Measured from the moment every replica fetches: a follower whose first fetch came before
      // the leader took the partition backs off replica.fetch.backoff.ms (1 s), and acks=all sends
      // in that second waited for it (a p99 near 900 ms in 2 of 5 quiet runs without this).
      await untilReplicated(kafka, scenario.topic, 30_000);
      const result = await runPerf(
        { mode: 'produce', bootstrapServer: bootstrap, topic: scenario.topic, records, recordSizeBytes: RECORD_BYTES, acks: scenario.acks === 'all' ? -1 : 1 },
        { progressStream: null },
      );
      results.push({
        name: scenario.name,
        replicationFactor: scenario.replicationFactor,
        acks: scenario.acks,
        recordsPerSec: result.recordsPerSec,
        p50Ms: result.latencyMs!.p50,
        p99Ms: result.latencyMs!.p99,
        ratioToUnreplicated: 0,
        leader,
      });
    } finally {
      // A clean stop (SIGTERM) writes the profiles.
      await cluster?.close();
      rmSync(root, { recursive: true, force: true });
    }
    if (profiled) leaderProfile = topSelfTime(mainThreadProfile(options.cpuProfDir!, leaderPid), 12);
  }
  for (const result of results) result.ratioToUnreplicated = result.recordsPerSec / results[0].recordsPerSec;
  return { environment, records, results, leaderProfile };
}

/** The main thread's profile of process `pid` (Node names them CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile, thread 0 first). */
function mainThreadProfile(dir: string, pid: number): string {
  const names = readdirSync(dir).filter((name) => name.endsWith('.cpuprofile') && name.split('.')[3] === String(pid) && name.split('.')[4] === '0');
  if (names.length !== 1) throw new Error(`expected one main-thread profile of process ${pid} in ${dir}, found ${names.length}`);
  return path.join(dir, names[0]);
}

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

/** The `count` functions with the most self time, as "share% name (file:line)", the idle and GC pseudo-functions included. */
function topSelfTime(file: string, count: number): string[] {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const names = new Map(
    profile.nodes.map((node) => {
      const { functionName, url, lineNumber } = node.callFrame;
      return [node.id, url === '' ? functionName || '(anonymous)' : `${functionName || '(anonymous)'} (${path.basename(url)}:${lineNumber + 1})`];
    }),
  );
  const self = new Map<string, number>();
  let total = 0;
  for (const [i, id] of profile.samples.entries()) {
    const delta = profile.timeDeltas[i] ?? 0;
    const name = names.get(id)!;
    self.set(name, (self.get(name) ?? 0) + delta);
    total += delta;
  }
  return [...self]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, micros]) => `${((100 * micros) / total).toFixed(1)}% ${name}`);
}

const USAGE = 'node dist/bench/cluster.bench.js [--records 200000] [--dir /path] [--cpu-prof DIR] [--json]';

async function main(): Promise<void> {
  const flags = parseBenchArgs(
    process.argv.slice(2),
    { records: { type: 'positive-integer' }, dir: { type: 'string' }, 'cpu-prof': { type: 'string' }, json: { type: 'boolean' } },
    USAGE,
  );
  const report = await runClusterBench({ records: flags.records, dir: flags.dir, cpuProfDir: flags['cpu-prof'] });
  if (flags.json) {
    console.log(JSON.stringify(report, null, 2));
    return;
  }
  console.log(`environment: ${describeEnvironment(report.environment)}`);
  console.log(`sluice perf produce over kafkajs to a 3-broker cluster, ${report.records.toLocaleString('en-US')} records of ${RECORD_BYTES} bytes, 1 partition`);
  for (const result of report.results) {
    console.log(
      `${result.name.padEnd(54)} ${Math.round(result.recordsPerSec).toLocaleString('en-US').padStart(9)} records/s   p50 ${result.p50Ms.toFixed(2)} ms   p99 ${result.p99Ms.toFixed(2)} ms   ${result.ratioToUnreplicated.toFixed(2)} x acks=1 RF 1   (leader: broker ${result.leader})`,
    );
  }
  if (report.leaderProfile !== null) {
    console.log('acks=all leader, main thread, self time:');
    for (const line of report.leaderProfile) console.log(`  ${line}`);
  }
}

if (isMainModule(import.meta.url)) {
  main().catch((error: unknown) => {
    console.error((error as Error).stack ?? error);
    process.exit(1);
  });
}
