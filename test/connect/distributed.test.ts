/**
 * Three `sluice connect distributed` workers on a `sluice serve` broker form a group; a sink with
 * 6 tasks is spread over them; one worker is SIGKILLed and its tasks run on the other two once the
 * coordinator removed it (session.timeout.ms); then every worker is restarted and the connector's
 * config, task configs and statuses come back from connect-configs and connect-status (the
 * statuses say UNASSIGNED between a clean stop and the restart).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliProcess, killRunning } from '../cli/run-cli.js';
import { eventually } from '../support/eventually.js';
import { makeTempDir, removeTempDir } from '../support/temp-dir.js';
import { toProperties } from './helpers.js';

const DEADLINE_MS = 90_000;

let dir: string;
let brokerPort: number;

interface Status {
  connector: { state: string; worker_id: string };
  tasks: { id: number; state: string; worker_id: string }[];
}

beforeAll(async () => {
  dir = makeTempDir('connect-distributed');
  const broker = new CliProcess(['serve', '--port', '0', '--data-dir', join(dir, 'data'), '--group-initial-rebalance-delay-ms', '0']);
  await broker.waitForStdout((out) => out.includes('listening on'), 'the broker listening');
  brokerPort = Number(/listening on [^:]+:(\d+)/.exec(broker.stdout)![1]);
  writeFileSync(
    join(dir, 'worker.properties'),
    toProperties({
      'bootstrap.servers': `127.0.0.1:${brokerPort}`,
      'group.id': 'connect-cluster',
      listeners: 'http://127.0.0.1:0',
      'session.timeout.ms': '6000',
      'heartbeat.interval.ms': '500',
      'consumer.session.timeout.ms': '6000',
      'consumer.heartbeat.interval.ms': '500',
      'offset.storage.partitions': '2',
      'status.storage.partitions': '2',
      'key.converter': 'org.apache.kafka.connect.storage.StringConverter',
      'value.converter': 'org.apache.kafka.connect.storage.StringConverter',
    }),
  );
});

afterAll(() => {
  killRunning();
  removeTempDir(dir);
});

async function startWorker(): Promise<{ cli: CliProcess; url: string }> {
  const cli = new CliProcess(['connect', 'distributed', join(dir, 'worker.properties')]);
  await cli.waitForStdout((out) => out.includes('listening on'), 'a worker listening');
  return { cli, url: /listening on (\S+)/.exec(cli.stdout)![1]! };
}

async function getJson<T>(url: string): Promise<T> {
  return (await (await fetch(url)).json()) as T;
}

function allRunningOn(status: Status, workers: readonly string[]): boolean {
  return status.tasks.length === 6 && status.tasks.every((task) => task.state === 'RUNNING' && workers.includes(task.worker_id)) && status.connector.state === 'RUNNING';
}

describe('distributed workers', () => {
  it('spread a 6-task connector, take over a killed worker\'s tasks, and keep configs and statuses across restarts', { timeout: DEADLINE_MS * 4 }, async () => {
    const workers = await Promise.all([startWorker(), startWorker(), startWorker()]);
    const ids = workers.map((worker) => worker.url.replace('http://', ''));
    const config = { 'connector.class': 'FileStreamSink', 'tasks.max': '6', topics: 'dist-in', file: join(dir, 'out.txt') };
    // Sent to any worker: a follower forwards it to the leader.
    await eventually(async () => (await fetch(`${workers[1]!.url}/connectors`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'spread', config }) })).status === 201, {
      timeoutMs: DEADLINE_MS,
      what: 'the connector created once the group has a leader',
    });
    let status: Status = { connector: { state: '', worker_id: '' }, tasks: [] };
    await eventually(async () => allRunningOn((status = await getJson<Status>(`${workers[0]!.url}/connectors/spread/status`)), ids), {
      timeoutMs: DEADLINE_MS,
      what: `6 running tasks (last status ${JSON.stringify(status)})`,
    });
    expect(new Set(status.tasks.map((task) => task.worker_id)).size).toBe(3);
    expect(await getJson(`${workers[2]!.url}/connectors/spread/tasks`)).toHaveLength(6);
    expect(await getJson(`${workers[2]!.url}/connectors/nope/status`)).toEqual({ error_code: 404, message: 'Connector nope not found' });

    // Pause and resume through a follower; restart a task that runs on another worker than the one asked.
    expect((await fetch(`${workers[2]!.url}/connectors/spread/pause`, { method: 'PUT' })).status).toBe(202);
    await eventually(async () => (status = await getJson<Status>(`${workers[0]!.url}/connectors/spread/status`)).tasks.every((task) => task.state === 'PAUSED'), {
      timeoutMs: DEADLINE_MS,
      what: 'every task paused',
    });
    expect((await fetch(`${workers[1]!.url}/connectors/spread/resume`, { method: 'PUT' })).status).toBe(202);
    await eventually(async () => allRunningOn((status = await getJson<Status>(`${workers[0]!.url}/connectors/spread/status`)), ids), { timeoutMs: DEADLINE_MS, what: 'every task resumed' });
    const elsewhere = status.tasks.find((task) => task.worker_id !== ids[0])!;
    expect((await fetch(`${workers[0]!.url}/connectors/spread/tasks/${elsewhere.id}/restart`, { method: 'POST' })).status).toBe(204);
    await eventually(async () => allRunningOn((status = await getJson<Status>(`${workers[0]!.url}/connectors/spread/status`)), ids), { timeoutMs: DEADLINE_MS, what: 'the restarted task running' });

    workers[2]!.cli.child.kill('SIGKILL');
    await workers[2]!.cli.exited;
    const survivors = ids.slice(0, 2);
    await eventually(async () => allRunningOn((status = await getJson<Status>(`${workers[0]!.url}/connectors/spread/status`)), survivors), {
      timeoutMs: DEADLINE_MS,
      what: `the killed worker's tasks running on the others (last status ${JSON.stringify(status)})`,
    });

    for (const worker of workers.slice(0, 2)) worker.cli.child.kill('SIGTERM');
    await Promise.all(workers.slice(0, 2).map((worker) => worker.cli.exited));
    // Workers that stop cleanly give their connector and tasks up (Kafka's UNASSIGNED), so no status claims they still run.
    const lastStatus = new Map<string, string>();
    for (const line of execFileSync('kcat', ['-C', '-b', `127.0.0.1:${brokerPort}`, '-t', 'connect-status', '-e', '-q', '-f', '%k\t%s\n'], { encoding: 'utf8' }).trim().split('\n')) {
      const [key, value] = line.split('\t') as [string, string];
      if (key.startsWith('status-') && !key.startsWith('status-topic-')) lastStatus.set(key, (JSON.parse(value) as { state: string }).state);
    }
    expect(Object.fromEntries(lastStatus)).toEqual(Object.fromEntries(['status-connector-spread', ...[0, 1, 2, 3, 4, 5].map((task) => `status-task-spread-${task}`)].map((key) => [key, 'UNASSIGNED'])));
    const restarted = await Promise.all([startWorker(), startWorker(), startWorker()]);
    const restartedIds = restarted.map((worker) => worker.url.replace('http://', ''));
    expect(await getJson(`${restarted[0]!.url}/connectors`)).toEqual(['spread']);
    expect(await getJson(`${restarted[1]!.url}/connectors/spread/config`)).toEqual({ ...config, name: 'spread' });
    await eventually(async () => allRunningOn((status = await getJson<Status>(`${restarted[2]!.url}/connectors/spread/status`)), restartedIds), {
      timeoutMs: DEADLINE_MS,
      what: `the connector's 6 tasks running on the restarted workers (last status ${JSON.stringify(status)})`,
    });
    // KIP-477 (a follower forwards it to the leader): the PATCH keeps the rest of the config. A
    // follower answers 409 during a rebalance (as Kafka's does), 404 until it read the connector.
    let patched: Response | null = null;
    await eventually(
      async () =>
        (patched = await fetch(`${restarted[1]!.url}/connectors/spread/config`, { method: 'PATCH', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ 'errors.log.enable': 'true' }) }))
          .status !== 409 && patched.status !== 404,
      { timeoutMs: DEADLINE_MS, what: 'a PATCH answered once the connector is known and the group has a leader' },
    );
    expect(patched!.status).toBe(200);
    expect(((await patched!.json()) as { config: Record<string, string> }).config).toEqual({ ...config, name: 'spread', 'errors.log.enable': 'true' });
    await eventually(async () => (await getJson<Record<string, string>>(`${restarted[2]!.url}/connectors/spread/config`))['errors.log.enable'] === 'true', {
      timeoutMs: DEADLINE_MS,
      what: 'the patched config on every worker',
    });
    // KIP-558 on the status topic: the topic a task read from is known to every worker, and a reset through any worker forgets it everywhere.
    execFileSync('kcat', ['-P', '-b', `127.0.0.1:${brokerPort}`, '-t', 'dist-in'], { input: 'one line\n' });
    for (const worker of restarted) {
      await eventually(async () => JSON.stringify(await getJson(`${worker.url}/connectors/spread/topics`)) === JSON.stringify({ spread: { topics: ['dist-in'] } }), {
        timeoutMs: DEADLINE_MS,
        what: `the active topic dist-in on ${worker.url}`,
      });
    }
    expect((await fetch(`${restarted[0]!.url}/connectors/spread/topics/reset`, { method: 'PUT' })).status).toBe(202);
    for (const worker of restarted) {
      await eventually(async () => JSON.stringify(await getJson(`${worker.url}/connectors/spread/topics`)) === JSON.stringify({ spread: { topics: [] } }), {
        timeoutMs: DEADLINE_MS,
        what: `the active topics reset on ${worker.url}`,
      });
    }
  });
});
