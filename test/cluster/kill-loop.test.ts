/**
 * The kill loop (`npm run soak:cluster-kills`, CLUSTER_KILLS=30): ZooKeeper and three brokers, a
 * topic with replication factor 3 and min.insync.replicas=2, kafkajs and kcat producing keyed
 * records with acks=all and a kcat consumer reading from the leaders the whole time, while the
 * loop SIGKILLs the leader of a random partition, waits for the controller to move its
 * partitions and for the producers to go on, restarts it and waits for every ISR to be whole
 * again, CLUSTER_KILLS times. Then every acknowledged record must be in the log once at its
 * offset, every replica's log must equal its leader's, and everything the consumer read must be
 * in the log at the offset it read it from (a consumer never sees a record a failover takes away).
 *
 * Too long for the suite (each kill waits out a ZooKeeper session): it runs only with CLUSTER_KILLS set.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { LocalCluster } from '../../src/cluster/local-cluster.js';
import { readClusterStatus, type PartitionStatus } from '../../src/cluster/cluster-status.js';
import { runCli } from '../cli/run-cli.js';
import { eventually } from '../server/helpers.js';
import { seededIntBelow } from '../support/prng.js';
import { makeTempDir, removeTempDir } from '../support/temp-dir.js';
import { KCAT_CONNECT_ALL, KafkajsProducerLoop, KcatProducer, auditRecords, readPartition, segmentBytes } from './acknowledged-records.js';

const KILLS = Number(process.env.CLUSTER_KILLS ?? 0);
const SEED = Number(process.env.CLUSTER_KILLS_SEED ?? 11);
const TOPIC = 'kills';
const PARTITIONS = 3;
/** Records the producers must get acknowledged by the new leaders after each kill, before the broker comes back. */
const RECORDS_PER_FAILOVER = 500;

let dir: string;
let cluster: LocalCluster;
const cleanups: (() => Promise<unknown> | void)[] = [];

beforeAll(async () => {
  if (KILLS === 0) return;
  dir = makeTempDir('kill-loop');
  cluster = await LocalCluster.start({ dir, brokers: 3, sessionTimeoutMs: 4_000, serveArgs: ['--group-initial-rebalance-delay-ms', '0'] });
}, 120_000);

afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

afterAll(async () => {
  await cluster?.close();
  if (dir !== undefined) removeTempDir(dir);
}, 60_000);

async function partitionStates(): Promise<PartitionStatus[]> {
  return (await readClusterStatus(cluster.zookeeper.connectString)).partitions.filter((p) => p.topic === TOPIC);
}

/**
 * kcat consuming every partition from the beginning, following leader changes; what it read, as
 * `${partition}/${offset}` -> value. Should kcat end itself anyway (see KCAT_CONNECT_ALL), it is
 * started again from the beginning: what it reads again must be what it read before.
 */
function kcatConsumer(): { read: Map<string, string>; rereads: number; restarts: number; lastLines: string[]; stop(): Promise<void> } {
  let stopping = false;
  let exited: Promise<void> = Promise.resolve();
  let child: ChildProcess | null = null;
  const consumer = {
    read: new Map<string, string>(),
    rereads: 0,
    restarts: 0,
    /** kcat's last lines on stderr, for a failure message. */
    lastLines: [] as string[],
    stop: async () => {
      stopping = true;
      child?.kill('SIGTERM');
      await exited;
    },
  };
  const start = (): void => {
    const started = spawn('kcat', ['-C', '-b', cluster.bootstrap, '-t', TOPIC, '-o', 'beginning', '-u', '-f', '%p/%o %s\\n', '-X', 'auto.offset.reset=earliest', ...KCAT_CONNECT_ALL], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = started;
    exited = new Promise<void>((resolve) =>
      started.once('exit', () => {
        resolve();
        if (stopping) return;
        consumer.restarts++;
        start();
      }),
    );
    createInterface({ input: started.stderr }).on('line', (line) => {
      consumer.lastLines.push(line);
      if (consumer.lastLines.length > 5) consumer.lastLines.shift();
    });
    createInterface({ input: started.stdout }).on('line', (line) => {
      const space = line.indexOf(' ');
      const at = line.slice(0, space);
      const value = line.slice(space + 1);
      const earlier = consumer.read.get(at);
      // Read twice (a fetch retried after a leader change, or a restart): it must be the same record both times.
      if (earlier !== undefined) {
        consumer.rereads++;
        if (earlier !== value) consumer.read.set(at, `${earlier} | ${value}`);
      } else {
        consumer.read.set(at, value);
      }
    });
  };
  start();
  return consumer;
}

describe.skipIf(KILLS === 0)(`kill loop: ${KILLS} random leader kills with ongoing produce and consume (ZooKeeper + 3 brokers, RF 3, min.insync.replicas=2)`, () => {
  it('loses no acknowledged record, duplicates none, and serves consumers nothing a failover takes back', async () => {
    const created = await runCli(['topics', 'create', TOPIC, '--partitions', String(PARTITIONS), '--replication-factor', '3', '--config', 'min.insync.replicas=2', '--bootstrap-server', cluster.bootstrap.split(',')[0]]);
    expect(created.stderr).toBe('');
    const kcatProducer = new KcatProducer(cluster.bootstrap.split(','), TOPIC, 'kcat', Number.MAX_SAFE_INTEGER);
    const kafkajs = new KafkajsProducerLoop(cluster.bootstrap.split(','), TOPIC, PARTITIONS, 'kafkajs', 50, Number.MAX_SAFE_INTEGER, (acknowledged) => kcatProducer.allow(acknowledged + 50));
    const consumer = kcatConsumer();
    cleanups.push(() => kcatProducer.kill(), () => kafkajs.stop(), () => consumer.stop());
    const acknowledged = () => kafkajs.acknowledged.size + kcatProducer.delivered.length;
    const below = seededIntBelow(SEED);
    const killed: string[] = [];
    const startedMs = Date.now();

    for (let kill = 0; kill < KILLS; kill++) {
      const before = await partitionStates();
      const partition = below(PARTITIONS);
      const victim = before[partition].leader;
      await cluster.stopBroker(victim, 'SIGKILL');
      await eventually(async () => (await partitionStates()).every((p) => p.leader !== victim && p.leader !== -1 && !p.isr.includes(victim)), {
        timeoutMs: 60_000,
        what: `kill ${kill + 1}: every partition led without broker ${victim}, out of every ISR`,
      });
      const atFailover = kafkajs.acknowledged.size;
      await eventually(() => kafkajs.acknowledged.size >= atFailover + RECORDS_PER_FAILOVER, { timeoutMs: 120_000, what: `kill ${kill + 1}: records acknowledged by the new leaders` });
      await cluster.startBroker(victim);
      await eventually(async () => (await partitionStates()).every((p) => p.isr.length === 3), { timeoutMs: 120_000, what: `kill ${kill + 1}: every ISR whole again with broker ${victim}` });
      const after = await partitionStates();
      killed.push(`${victim}(${TOPIC}-${partition}, epochs ${after.map((p) => p.leaderEpoch).join('/')})`);
    }

    await kafkajs.stop();
    const kcatExit = await kcatProducer.stop();
    const final = await partitionStates();
    for (const state of final) {
      for (const id of [1, 2, 3]) {
        await eventually(() => segmentBytes(cluster, id, TOPIC, state.partition).equals(segmentBytes(cluster, state.leader, TOPIC, state.partition)), {
          timeoutMs: 60_000,
          what: `broker ${id}'s ${TOPIC}-${state.partition} to equal its leader's`,
        });
      }
    }
    const log = new Map<number, [number, string][]>();
    for (const state of final) log.set(state.partition, await readPartition(cluster.brokers.get(state.leader)!.port, TOPIC, state.partition));
    const inLog = [...log.values()].reduce((sum, records) => sum + records.length, 0);
    try {
      await eventually(() => consumer.read.size >= inLog, { timeoutMs: 120_000, what: `the consumer to read all ${inLog} records` });
    } catch (error) {
      const perPartition = [...log].map(([partition, records]) => `${partition}: read ${[...consumer.read.keys()].filter((where) => where.startsWith(`${partition}/`)).length} of ${records.length}`);
      throw new Error(`${(error as Error).message}: ${perPartition.join(', ')}; kcat's last lines: ${consumer.lastLines.join(' | ')}`);
    }
    await consumer.stop();
    const at = new Map<string, string>();
    for (const [partition, records] of log) for (const [offset, value] of records) at.set(`${partition}/${offset}`, value);
    const dirtyReads = [...consumer.read].filter(([where, value]) => at.get(where) !== value);

    const audit = auditRecords(log, [kafkajs], [kcatProducer]);
    const minutes = ((Date.now() - startedMs) / 60_000).toFixed(1);
    console.log(
      `kill loop (seed ${SEED}): ${KILLS} leader kills in ${minutes} min: ${killed.join(' ')}; acknowledged ${audit.acknowledged} ` +
        `(kafkajs ${kafkajs.acknowledged.size}, kcat ${kcatProducer.delivered.length}), lost ${audit.lost}, misplaced ${audit.misplaced}, duplicated ${audit.duplicated}, ` +
        `unacknowledged in the log ${audit.unacknowledgedInLog}; kafkajs failed sends ${kafkajs.failedSends} (${kafkajs.lastError}), ` +
        `kcat failed deliveries ${kcatProducer.failedDeliveries}, restarted ${kcatProducer.restarts} times, exit code ${kcatExit} (${kcatProducer.lastLine}); ` +
        `consumed ${consumer.read.size} (re-read ${consumer.rereads}, kcat restarted ${consumer.restarts} times), not as in the log ${dirtyReads.length} ${audit.examples.join('; ')} ${dirtyReads.slice(0, 5).join('; ')}`,
    );
    expect(audit).toMatchObject({ lost: 0, misplaced: 0, duplicated: 0 });
    expect(kcatProducer.failedDeliveries).toBe(0);
    expect(kcatExit).toBe(0);
    expect(dirtyReads).toEqual([]);
    expect(consumer.read.size).toBe(inLog);
    expect(acknowledged()).toBe(audit.acknowledged);
    expect(final.map((p) => p.isr.length)).toEqual([3, 3, 3]);
  }, 600_000 + KILLS * 60_000);
});
