/**
 * Burrow's HTTP API over a real socket, served by Sluice.open's `http` option: the paths, JSON
 * shapes, status strings and HTTP codes Burrow's clients read, with each partition status
 * produced by a commit history the broker judged (the rules themselves are checked case by case
 * in test/broker/lag.test.ts).
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Sluice, type SluiceOptions } from '../../src/sluice.js';
import { batchOf, makeDataDir, quietLogger, removeDataDir } from '../broker/broker-test-helpers.js';
import { eventually } from '../support/eventually.js';
import { get, getJson } from './http-test-support.js';

const HOUR_MS = 3_600_000;
const opened: Sluice[] = [];
const dirs: string[] = [];

afterEach(async () => {
  for (const sluice of opened.splice(0)) await sluice.close();
  for (const dir of dirs.splice(0)) removeDataDir(dir);
});

async function openWithHttp(options: Partial<SluiceOptions> = {}): Promise<{ sluice: Sluice; base: string }> {
  const dataDir = makeDataDir();
  dirs.push(dataDir);
  const sluice = await Sluice.open({
    dataDir,
    shards: 1,
    logger: quietLogger,
    lagMinCommitIntervalMs: 0,
    lagStoppedAfterMs: HOUR_MS,
    http: { port: 0 },
    ...options,
  });
  opened.push(sluice);
  expect(sluice.httpAddress?.host).toBe('127.0.0.1');
  return { sluice, base: `http://127.0.0.1:${sluice.httpAddress!.port}` };
}

async function commit(sluice: Sluice, groupId: string, topic: string, partition: number, offset: number): Promise<void> {
  const results = await sluice.broker.groups.commitOffsets({ groupId, offsets: [{ topic, partition, offset }] });
  expect(results[0].error).toBeNull();
}

const values = (count: number, prefix: string): string[] => Array.from({ length: count }, (_, i) => `${prefix}-${i}`);

/** Partition 0 falls behind (WARN), 1 is stuck (STALL), 2 went back (REWIND), 3 caught up (OK). */
async function fourPartitionHistory(sluice: Sluice): Promise<void> {
  const { broker } = sluice;
  await broker.createTopic('events', { partitions: 4 });
  for (let partition = 0; partition < 4; partition++) await broker.produce('events', partition, batchOf(values(10, `a${partition}`)), 1);
  await commit(sluice, 'g', 'events', 0, 4); // lag 6
  await broker.produce('events', 0, batchOf(values(10, 'b0')), 1);
  await commit(sluice, 'g', 'events', 0, 8); // lag 12: moving, falling behind
  await commit(sluice, 'g', 'events', 1, 5);
  await commit(sluice, 'g', 'events', 1, 5); // not moving
  await commit(sluice, 'g', 'events', 2, 7);
  await commit(sluice, 'g', 'events', 2, 3); // backwards
  await commit(sluice, 'g', 'events', 3, 10); // caught up
}

const request = (url: string) => ({ url, host: hostname() });
const offset = (value: number, lag: number) => ({ offset: value, lag, timestamp: expect.any(Number), observedAt: expect.any(Number) });

describe("Burrow's HTTP API", () => {
  it("answers a group's /lag and /status with Burrow's shapes and statuses", async () => {
    const { sluice, base } = await openWithHttp();
    await fourPartitionHistory(sluice);

    const partition = (p: number, status: string, start: object, end: object, lag: number, complete: number) => ({
      topic: 'events',
      partition: p,
      owner: '',
      client_id: '',
      status,
      start,
      end,
      current_lag: lag,
      complete,
    });
    const warn = partition(0, 'WARN', offset(4, 6), offset(8, 12), 12, 0.2);
    const stall = partition(1, 'STALL', offset(5, 5), offset(5, 5), 5, 0.2);
    const rewind = partition(2, 'REWIND', offset(7, 3), offset(3, 7), 7, 0.2);
    const ok = partition(3, 'OK', offset(10, 0), offset(10, 0), 0, 0.1);

    const lag = await getJson(base, '/v3/kafka/local/consumer/g/lag');
    expect(lag).toEqual({
      status: 200,
      body: {
        error: false,
        message: 'consumer status returned',
        status: {
          cluster: 'local',
          group: 'g',
          status: 'ERR',
          complete: 0,
          partitions: [warn, stall, rewind, ok],
          partition_count: 4,
          maxlag: warn,
          totallag: 24,
        },
        request: request('/v3/kafka/local/consumer/g/lag'),
      },
    });
    // /status lists only the partitions that are not OK; the totals still count every one.
    const status = await getJson(base, '/v3/kafka/local/consumer/g/status?x=1');
    expect(status.body.status.partitions).toEqual([warn, stall, rewind]);
    expect(status.body.status).toMatchObject({ status: 'ERR', partition_count: 4, totallag: 24, maxlag: warn });
    expect(status.body.request).toEqual(request('/v3/kafka/local/consumer/g/status'));

    // Only a warning left: the group is WARN. All caught up: OK.
    await commit(sluice, 'g', 'events', 1, 10);
    await commit(sluice, 'g', 'events', 2, 10);
    expect((await getJson(base, '/v3/kafka/local/consumer/g/status')).body.status).toMatchObject({ status: 'WARN', partitions: [warn] });
    await commit(sluice, 'g', 'events', 0, 20);
    expect((await getJson(base, '/v3/kafka/local/consumer/g/status')).body.status).toMatchObject({ status: 'OK', partitions: [], totallag: 0 });
  });

  it('reports STOP once a lagging partition goes without commits longer than allowed', async () => {
    const { sluice, base } = await openWithHttp({ lagStoppedAfterMs: 50 });
    await sluice.broker.createTopic('slow', { partitions: 1 });
    await sluice.broker.produce('slow', 0, batchOf(values(10, 's')), 1);
    await commit(sluice, 'quiet', 'slow', 0, 2);
    await commit(sluice, 'quiet', 'slow', 0, 4);
    await eventually(async () => (await getJson(base, '/v3/kafka/local/consumer/quiet/lag')).body.status.partitions[0].status === 'STOP', {
      what: 'partition status STOP',
    });
    expect((await getJson(base, '/v3/kafka/local/consumer/quiet/status')).body.status).toMatchObject({ status: 'ERR', totallag: 6 });
  });

  it("answers NOTFOUND (404) for an unknown group or cluster, as Burrow's evaluator does", async () => {
    const { base } = await openWithHttp();
    const notFound = (cluster: string, group: string) => ({
      status: 404,
      body: {
        error: false,
        message: 'consumer status returned',
        status: { cluster, group, status: 'NOTFOUND', complete: 1, partitions: [], partition_count: 0, maxlag: null, totallag: 0 },
        request: request(`/v3/kafka/${cluster}/consumer/${group}/status`),
      },
    });
    expect(await getJson(base, '/v3/kafka/local/consumer/nobody/status')).toEqual(notFound('local', 'nobody'));
    expect(await getJson(base, '/v3/kafka/elsewhere/consumer/g/status')).toEqual(notFound('elsewhere', 'g'));
  });

  it('lists the cluster, its topics with their end offsets, and its consumers', async () => {
    const { sluice, base } = await openWithHttp({ http: { port: 0, clusterName: 'main' } });
    await fourPartitionHistory(sluice);
    await sluice.broker.createTopic('quiet', { partitions: 2 });

    expect(await getJson(base, '/v3/kafka')).toEqual({
      status: 200,
      body: { error: false, message: 'cluster list returned', clusters: ['main'], request: request('/v3/kafka') },
    });
    expect(await getJson(base, '/v3/kafka/main')).toEqual({
      status: 200,
      body: {
        error: false,
        message: 'cluster module detail returned',
        module: {
          'class-name': 'sluice',
          servers: [], // embedded: no Kafka listener
          'client-profile': { name: '', 'client-id': '', 'kafka-version': '', tls: null, sasl: null },
          'topic-refresh': 0,
          'offset-refresh': 10,
        },
        request: request('/v3/kafka/main'),
      },
    });
    expect((await getJson(base, '/v3/kafka/other')).body).toMatchObject({ error: true, message: 'cluster module not found' });
    const topics = await getJson(base, '/v3/kafka/main/topic');
    expect(topics.body).toMatchObject({ error: false, message: 'topic list returned', request: request('/v3/kafka/main/topic') });
    expect(topics.body.topics).toEqual(expect.arrayContaining(['events', 'quiet', '__consumer_offsets']));
    expect(await getJson(base, '/v3/kafka/main/topic/events')).toEqual({
      status: 200,
      body: { error: false, message: 'topic offsets returned', offsets: [20, 10, 10, 10], request: request('/v3/kafka/main/topic/events') },
    });
    expect((await getJson(base, '/v3/kafka/main/topic/events/consumers')).body).toMatchObject({ message: 'consumers of topic returned', consumers: ['g'] });
    expect((await getJson(base, '/v3/kafka/main/topic/quiet/consumers')).body.consumers).toEqual([]);
    expect((await getJson(base, '/v3/kafka/main/consumer')).body).toMatchObject({ error: false, message: 'consumer list returned', consumers: ['g'] });
    // The consumer detail: each partition's window of commits, oldest first, empty slots null.
    const detail = await getJson(base, '/v3/kafka/main/consumer/g');
    expect(detail.status).toBe(200);
    expect(detail.body).toMatchObject({ error: false, message: 'consumer detail returned', request: request('/v3/kafka/main/consumer/g') });
    const nulls = (count: number) => Array<null>(count).fill(null);
    expect(detail.body.topics).toEqual({
      events: [
        { offsets: [...nulls(8), offset(4, 6), offset(8, 12)], owner: '', client_id: '', 'current-lag': 12 },
        { offsets: [...nulls(8), offset(5, 5), offset(5, 5)], owner: '', client_id: '', 'current-lag': 5 },
        { offsets: [...nulls(8), offset(7, 3), offset(3, 7)], owner: '', client_id: '', 'current-lag': 7 },
        { offsets: [...nulls(9), offset(10, 0)], owner: '', client_id: '', 'current-lag': 0 },
      ],
    });
    expect(await getJson(base, '/v3/kafka/main/consumer/nobody')).toEqual({
      status: 404,
      body: { error: true, message: 'cluster or consumer not found', request: request('/v3/kafka/main/consumer/nobody') },
    });

    expect(await getJson(base, '/v3/kafka/main/topic/missing')).toEqual({
      status: 404,
      body: { error: true, message: 'cluster or topic not found', request: request('/v3/kafka/main/topic/missing') },
    });
    expect(await getJson(base, '/v3/kafka/other/topic')).toEqual({
      status: 404,
      body: { error: true, message: 'cluster not found', request: request('/v3/kafka/other/topic') },
    });
    expect(await getJson(base, '/v3/kafka/main/nothing-here')).toEqual({ status: 404, body: { error: true, message: 'invalid request type', result: {} } });
  });

  it('answers the health checks', async () => {
    const { base } = await openWithHttp();
    expect(await get(base, '/burrow/admin')).toMatchObject({ status: 200, text: 'GOOD' });
    expect(await get(base, '/burrow/admin/ready')).toMatchObject({ status: 200, text: 'READY' });
  });

  it('is off unless asked for, and refuses bad options before binding anything', async () => {
    const dataDir = makeDataDir();
    dirs.push(dataDir);
    const plain = await Sluice.open({ dataDir, shards: 1, logger: quietLogger });
    opened.push(plain);
    expect(plain.httpAddress).toBeNull();
    await plain.close();
    await expect(Sluice.open({ dataDir, shards: 1, logger: quietLogger, http: { port: 70_000 } })).rejects.toThrow(/http port must be an integer/);
    await expect(Sluice.open({ dataDir, shards: 1, logger: quietLogger, http: { port: 0, bogus: 1 } as never })).rejects.toThrow(/unknown http option "bogus"/);
    await expect(Sluice.open({ dataDir, shards: 1, logger: quietLogger, http: { port: 0, clusterName: 'a/b' } })).rejects.toThrow(/clusterName must be letters/);
    await expect(Sluice.open({ dataDir, shards: 1, logger: quietLogger, http: { port: 0, credentialsFile: join(dataDir, 'none.json') } })).rejects.toThrow(
      /SASL credentials file .* cannot be read/,
    );
    // The data directory was released each time: it opens again.
    const again = await Sluice.open({ dataDir, shards: 1, logger: quietLogger });
    opened.push(again);
  });
});
