/**
 * The HTTP server beside a Kafka server with SASL and ACLs, over real sockets: basic auth with
 * the SASL users (a password entry and a salted SCRAM-only entry), the ACLs deciding what each
 * user may describe, and /metrics read with a Prometheus text-format parser after kafkajs
 * produced and a kafkajs consumer group consumed and committed through the Kafka server.
 */
import { join } from 'node:path';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AclOperation, AclPermissionType, PatternType, ResourceType, type AclBinding } from '../../src/broker/acl/acl.js';
import { Broker } from '../../src/broker/broker.js';
import { HttpServer } from '../../src/http/http-server.js';
import { KafkaServer } from '../../src/server/server.js';
import { quietLogger } from '../broker/broker-test-helpers.js';
import { eventually } from '../support/eventually.js';
import { makeTempDir, removeTempDir } from '../support/temp-dir.js';
import { basicAuth, family, get, getJson, histogramLine, sample, scrape } from './http-test-support.js';
import { writeCredentialsFile } from '../support/sasl-credentials.js';

const ADMIN = basicAuth('admin', 'admin-secret');
const ALICE = basicAuth('alice', 'alice-secret');
const BOB = basicAuth('bob', 'bob-secret');

let dir: string;
let broker: Broker;
let server: KafkaServer;
let http: HttpServer;
let base: string;
let bootstrap: string;

beforeAll(async () => {
  dir = makeTempDir('http-auth');
  const credentialsFile = join(dir, 'users.json');
  writeCredentialsFile(credentialsFile, { passwords: { admin: 'admin-secret', alice: 'alice-secret' }, scramOnly: { bob: 'bob-secret' } });
  const authorizer = { superUsers: ['User:admin'] };
  broker = await Broker.open({ dataDir: join(dir, 'data'), shards: 2, groupInitialRebalanceDelayMs: 0, lagMinCommitIntervalMs: 0, logger: quietLogger });
  http = new HttpServer(broker, { port: 0, credentialsFile, authorizer });
  server = new KafkaServer(broker, {
    port: 0,
    logger: quietLogger,
    sasl: { mechanisms: ['PLAIN', 'SCRAM-SHA-256'], credentialsFile },
    authorizer,
    requestObserver: http.requestObserver,
  });
  http.attachKafkaServer(server);
  base = `http://127.0.0.1:${(await http.listen()).port}`;
  bootstrap = `127.0.0.1:${(await server.listen()).port}`;
});

afterAll(async () => {
  await http?.close();
  await server?.close();
  await broker?.close();
  removeTempDir(dir);
});

function allow(principal: string, resourceType: number, resourceName: string): AclBinding {
  return {
    resourceType,
    resourceName,
    patternType: PatternType.LITERAL,
    principal,
    host: '*',
    operation: AclOperation.DESCRIBE,
    permissionType: AclPermissionType.ALLOW,
  };
}

describe('HTTP with SASL and ACLs', () => {
  it('requires basic auth with a SASL user, and shows each user what the ACLs let it describe', async () => {
    await broker.createTopic('visible', { partitions: 1 });
    await broker.createTopic('hidden', { partitions: 1 });
    await broker.groups.commitOffsets({ groupId: 'watched', offsets: [{ topic: 'visible', partition: 0, offset: 0 }, { topic: 'hidden', partition: 0, offset: 0 }] });

    const anonymous = await get(base, '/burrow/admin');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Basic realm="sluice", charset="UTF-8"');
    expect(JSON.parse(anonymous.text)).toMatchObject({ error: true, request: { url: '/burrow/admin' } });
    expect((await get(base, '/burrow/admin', basicAuth('alice', 'wrong'))).status).toBe(401);
    expect((await get(base, '/burrow/admin', basicAuth('nobody', 'alice-secret'))).status).toBe(401);
    expect((await get(base, '/burrow/admin', { authorization: 'Bearer abc' })).status).toBe(401);
    expect(await get(base, '/burrow/admin', ALICE)).toMatchObject({ status: 200, text: 'GOOD' });
    expect(await get(base, '/burrow/admin', BOB)).toMatchObject({ status: 200, text: 'GOOD' }); // SCRAM-only credentials

    // No ACL names alice: she sees no topic and no group, and may not describe the group or scrape.
    expect((await getJson(base, '/v3/kafka/local/topic', ALICE)).body.topics).toEqual([]);
    expect((await getJson(base, '/v3/kafka/local/consumer', ALICE)).body.consumers).toEqual([]);
    expect(await getJson(base, '/v3/kafka/local/consumer/watched/lag', ALICE)).toMatchObject({
      status: 403,
      body: { error: true, message: 'not authorized to describe consumer group "watched"' },
    });
    expect((await getJson(base, '/v3/kafka/local/topic/visible', ALICE)).status).toBe(404);
    expect((await getJson(base, '/v3/kafka/local/consumer/watched', ALICE)).status).toBe(403);
    expect((await get(base, '/metrics', ALICE)).status).toBe(403);

    broker.createAcls([allow('User:alice', ResourceType.TOPIC, 'visible'), allow('User:alice', ResourceType.GROUP, 'watched')]);
    expect((await getJson(base, '/v3/kafka/local/topic', ALICE)).body.topics).toEqual(['visible']);
    expect((await getJson(base, '/v3/kafka/local/consumer', ALICE)).body.consumers).toEqual(['watched']);
    // The group's partitions of a topic she may not describe are left out.
    const lag = await getJson(base, '/v3/kafka/local/consumer/watched/lag', ALICE);
    expect(lag.status).toBe(200);
    expect(lag.body.status.partitions.map((p: { topic: string }) => p.topic)).toEqual(['visible']);
    expect(lag.body.status.partition_count).toBe(1);
    expect(Object.keys((await getJson(base, '/v3/kafka/local/consumer/watched', ALICE)).body.topics)).toEqual(['visible']);
    // The super user sees everything; bob, named by no ACL, still nothing.
    expect((await getJson(base, '/v3/kafka/local/consumer/watched/lag', ADMIN)).body.status.partition_count).toBe(2);
    expect((await getJson(base, '/v3/kafka/local/consumer', BOB)).body.consumers).toEqual([]);
  });

  it('serves metrics of kafkajs traffic, lag and runtime, read by a Prometheus text-format parser', async () => {
    const kafka = new Kafka({
      clientId: 'metrics-reader',
      brokers: [bootstrap],
      sasl: { mechanism: 'plain', username: 'admin', password: 'admin-secret' },
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'orders', numPartitions: 1 }] });
    await admin.disconnect();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'orders', messages: Array.from({ length: 5 }, (_, i) => ({ key: `k${i}`, value: `order-${i}` })) });
    await producer.disconnect();

    const consumer: Consumer = kafka.consumer({ groupId: 'readers' });
    let consumed = 0;
    try {
      await consumer.connect();
      await consumer.subscribe({ topics: ['orders'], fromBeginning: true });
      await consumer.run({ eachMessage: async () => void consumed++ });
      await eventually(() => consumed === 5, { what: 'five records consumed' });
      // kafkajs commits after the batch; Burrow's view shows the live member as the owner.
      await eventually(async () => (await getJson(base, '/v3/kafka/local/consumer/readers/lag', ADMIN)).body.status.partitions[0]?.end?.offset === 5, {
        what: 'offset 5 committed',
      });
      const partition = (await getJson(base, '/v3/kafka/local/consumer/readers/lag', ADMIN)).body.status.partitions[0];
      expect(partition).toMatchObject({ topic: 'orders', partition: 0, owner: '/127.0.0.1', client_id: 'metrics-reader', status: 'OK', current_lag: 0 });

      expect((await getJson(base, '/v3/kafka/local', ADMIN)).body.module.servers).toEqual([bootstrap]);
      const { families, text } = await scrape(base, ADMIN);
      const orders = { topic: 'orders', partition: '0' };
      expect(sample(families, 'sluice_topic_partition_records_in_total', orders)).toBe(5);
      expect(sample(families, 'sluice_topic_partition_bytes_in_total', orders)).toBeGreaterThan(5 * 'order-0'.length);
      expect(sample(families, 'sluice_topic_partition_records_out_total', orders)).toBeGreaterThanOrEqual(5);
      expect(sample(families, 'sluice_topic_partition_bytes_out_total', orders)).toBeGreaterThan(0);
      expect(sample(families, 'sluice_topic_partition_current_offset', orders)).toBe(5);
      expect(sample(families, 'sluice_topic_partition_oldest_offset', orders)).toBe(0);
      expect(sample(families, 'sluice_topic_partition_log_end_offset', orders)).toBe(5);
      expect(sample(families, 'sluice_log_size_bytes', orders)).toBeGreaterThan(0);
      expect(sample(families, 'sluice_topic_partitions', { topic: 'orders' })).toBe(1);

      const readers = { consumergroup: 'readers', topic: 'orders', partition: '0' };
      expect(sample(families, 'sluice_consumergroup_current_offset', readers)).toBe(5);
      expect(sample(families, 'sluice_consumergroup_lag', readers)).toBe(0);
      expect(sample(families, 'sluice_consumergroup_partition_status', readers)).toBe(1);
      expect(sample(families, 'sluice_consumergroup_status', { consumergroup: 'readers' })).toBe(1);
      expect(sample(families, 'sluice_consumergroup_lag_sum', { consumergroup: 'readers' })).toBe(0);
      expect(sample(families, 'sluice_consumergroup_members', { consumergroup: 'readers' })).toBe(1);

      // Per-API request counts and latency histograms, from the Kafka server's dispatch.
      expect(sample(families, 'sluice_requests_total', { api: 'Produce' })).toBe(1);
      expect(sample(families, 'sluice_requests_total', { api: 'Fetch' })).toBeGreaterThanOrEqual(1);
      expect(sample(families, 'sluice_requests_total', { api: 'SaslAuthenticate' })).toBeGreaterThanOrEqual(3);
      expect(family(families, 'sluice_request_duration_seconds').type).toBe('HISTOGRAM');
      expect(family(families, 'sluice_request_queue_time_seconds').type).toBe('HISTOGRAM');
      expect(histogramLine(text, 'sluice_request_duration_seconds_count{api="Produce"}')).toBe(1);
      expect(histogramLine(text, 'sluice_request_duration_seconds_sum{api="Produce"}')).toBeGreaterThan(0);
      expect(histogramLine(text, 'sluice_request_duration_seconds_bucket{le="+Inf",api="Produce"}')).toBe(1);
      expect(histogramLine(text, 'sluice_request_queue_time_seconds_count{api="Fetch"}')).toBe(sample(families, 'sluice_requests_total', { api: 'Fetch' }));

      expect(sample(families, 'sluice_shard_request_ring_capacity_bytes', { shard: '0' })).toBeGreaterThan(0);
      expect(sample(families, 'sluice_shard_request_ring_used_bytes', { shard: '1' })).toBeGreaterThanOrEqual(0);
      expect(sample(families, 'sluice_shard_restarts_total', { shard: '1' })).toBe(0);
      expect(sample(families, 'sluice_shard_ring_full_waits_total', { shard: '0' })).toBeGreaterThanOrEqual(0);
      // A fresh data directory: recovery opened nothing to repair, and says so for every kind.
      expect(family(families, 'sluice_recovery_repairs').metrics.map((m) => [m.labels?.kind, Number(m.value)])).toEqual(
        Object.entries(broker.recovery).map(([kind, value]) => [kind, value]),
      );
      expect(sample(families, 'sluice_server_connections')).toBeGreaterThanOrEqual(1);
      expect(family(families, 'nodejs_gc_duration_seconds').type).toBe('HISTOGRAM');
      expect(family(families, 'nodejs_eventloop_lag_p99_seconds').type).toBe('GAUGE');

      // Prometheus naming: valid names, counters ending in _total, units in base units.
      for (const { name, type } of families) {
        expect(name).toMatch(/^[a-zA-Z_:][a-zA-Z0-9_:]*$/);
        if (name.startsWith('sluice_') && type === 'COUNTER') expect(name).toMatch(/_total$/);
        if (name.startsWith('sluice_')) expect(name).not.toMatch(/_ms$|_milliseconds|_kb$/);
      }
    } finally {
      await consumer.disconnect();
    }
  });
});
