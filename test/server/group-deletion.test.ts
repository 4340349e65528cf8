/**
 * DeleteGroups and OffsetDelete over the wire: advertised in ApiVersions, kafkajs's
 * admin.deleteGroups end to end (per-group errors included), OffsetDelete through Sluice's codecs
 * (kafkajs has no OffsetDelete) with Kafka's rules for a live consumer group, and both deletions
 * durable across a restart.
 */
import { Kafka, logLevel, type Admin, type Consumer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiVersions } from '../../src/protocol/api/api-versions.js';
import { DeleteGroups } from '../../src/protocol/api/delete-groups.js';
import { ErrorCode } from '../../src/protocol/api/error-codes.js';
import { OffsetDelete } from '../../src/protocol/api/offset-delete.js';
import { batchOf } from '../broker/broker-test-helpers.js';
import { TestClient, startServer, type TestServer } from './helpers.js';

let t: TestServer;
let kafka: Kafka;
let admin: Admin;

beforeAll(async () => {
  t = await startServer();
  kafka = new Kafka({ clientId: 'deletion-test', brokers: [t.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 3 } });
  admin = kafka.admin();
  await admin.connect();
  await t.broker.createTopic('a', { partitions: 2 });
  await t.broker.createTopic('b', { partitions: 1 });
  for (const [topic, partition] of [['a', 0], ['a', 1], ['b', 0]] as const) await t.broker.produce(topic, partition, batchOf(['x', 'y', 'z']), 1);
});

afterAll(async () => {
  await admin?.disconnect();
  await t?.close();
});

async function commit(groupId: string, offsets: { topic: string; partition: number; offset: number }[]): Promise<void> {
  const results = await t.broker.groups.commitOffsets({ groupId, offsets });
  expect(results.every((result) => result.error === null)).toBe(true);
}

/** A kafkajs consumer of `topic` in `groupId`, resolved once it has joined (the group is then Stable). */
async function liveMember(groupId: string, topic: string): Promise<Consumer> {
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10_000, heartbeatInterval: 500, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  await consumer.run({ autoCommit: false, eachMessage: async () => {} });
  await joined;
  return consumer;
}

describe('ApiVersions', () => {
  it('advertises DeleteGroups v0-2 and OffsetDelete v0', async () => {
    const client = await TestClient.connect(t.port);
    try {
      const response = await client.send(ApiVersions, 3, { clientSoftwareName: 'test', clientSoftwareVersion: '1' });
      expect(response.apiKeys).toContainEqual({ apiKey: 42, minVersion: 0, maxVersion: 2 });
      expect(response.apiKeys).toContainEqual({ apiKey: 47, minVersion: 0, maxVersion: 0 });
    } finally {
      client.close();
    }
  });
});

describe('DeleteGroups', () => {
  it('deletes an empty group with its offsets through kafkajs admin, and reports per group why others were not', async () => {
    await commit('finished', [{ topic: 'a', partition: 0, offset: 2 }]);
    const member = await liveMember('running', 'b');
    try {
      expect(await admin.deleteGroups(['finished'])).toEqual([{ groupId: 'finished', errorCode: 0 }]);
      expect((await admin.describeGroups(['finished'])).groups[0].state).toBe('Dead');
      const offsets = await admin.fetchOffsets({ groupId: 'finished', topics: ['a'] });
      expect(offsets[0].partitions.map((p) => p.offset)).toEqual(['-1', '-1']);

      const refused = await admin.deleteGroups(['running', 'never-was']).then(
        () => null,
        (error: { name: string; groups: { groupId: string; errorCode: number; error: { type: string } }[] }) => error,
      );
      expect(refused?.name).toBe('KafkaJSDeleteGroupsError');
      expect(refused?.groups.map((g) => [g.groupId, g.errorCode, g.error.type])).toEqual([
        ['running', 68, 'NON_EMPTY_GROUP'],
        ['never-was', 69, 'GROUP_ID_NOT_FOUND'],
      ]);
    } finally {
      await member.disconnect();
    }
    // Its member left and it never committed: the coordinator forgot it at once, as Kafka's cleanup would.
    expect((await admin.describeGroups(['running'])).groups[0].state).toBe('Dead');
  });

  it('answers v2 (flexible) and a group named twice once', async () => {
    await commit('twice', [{ topic: 'b', partition: 0, offset: 1 }]);
    const client = await TestClient.connect(t.port);
    try {
      const response = await client.send(DeleteGroups, 2, { groupsNames: ['twice', 'twice', ''] });
      expect(response.results).toEqual([
        { groupId: 'twice', errorCode: ErrorCode.NONE },
        { groupId: '', errorCode: ErrorCode.GROUP_ID_NOT_FOUND },
      ]);
    } finally {
      client.close();
    }
  });
});

describe('OffsetDelete', () => {
  it("deletes a group's offsets per partition, refuses topics a live member subscribes to, and keeps the deletion across a restart", async () => {
    await commit('pipeline', [
      { topic: 'a', partition: 0, offset: 1 },
      { topic: 'a', partition: 1, offset: 2 },
      { topic: 'b', partition: 0, offset: 3 },
    ]);
    const member = await liveMember('pipeline', 'a');
    const client = await TestClient.connect(t.port);
    try {
      const response = await client.send(OffsetDelete, 0, {
        groupId: 'pipeline',
        topics: [
          { name: 'a', partitions: [{ partitionIndex: 0 }, { partitionIndex: 9 }] },
          { name: 'b', partitions: [{ partitionIndex: 0 }] },
          { name: 'missing', partitions: [{ partitionIndex: 0 }] },
        ],
      });
      expect(response).toEqual({
        errorCode: ErrorCode.NONE,
        throttleTimeMs: 0,
        topics: [
          {
            name: 'a',
            partitions: [
              { partitionIndex: 0, errorCode: ErrorCode.GROUP_SUBSCRIBED_TO_TOPIC },
              { partitionIndex: 9, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION },
            ],
          },
          { name: 'b', partitions: [{ partitionIndex: 0, errorCode: ErrorCode.NONE }] },
          { name: 'missing', partitions: [{ partitionIndex: 0, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION }] },
        ],
      });
      const unknown = await client.send(OffsetDelete, 0, { groupId: 'nobody', topics: [{ name: 'a', partitions: [{ partitionIndex: 0 }] }] });
      expect(unknown).toEqual({ errorCode: ErrorCode.GROUP_ID_NOT_FOUND, throttleTimeMs: 0, topics: [] });
    } finally {
      client.close();
      await member.disconnect();
    }

    const offsetsOf = async () =>
      (await t.broker.groups.fetchOffsets({ groupId: 'pipeline', partitions: null }))
        .map((offset) => `${offset.topic}/${offset.partition}=${offset.offset}`)
        .sort();
    expect(await offsetsOf()).toEqual(['a/0=1', 'a/1=2']);
    await admin.disconnect();
    await t.stop();
    t = await startServer({ dataDir: t.dataDir });
    kafka = new Kafka({ clientId: 'deletion-test', brokers: [t.bootstrap], logLevel: logLevel.NOTHING, retry: { retries: 3 } });
    admin = kafka.admin();
    await admin.connect();
    expect(await offsetsOf()).toEqual(['a/0=1', 'a/1=2']);
    expect((await admin.describeGroups(['finished'])).groups[0].state).toBe('Dead');
  });
});
