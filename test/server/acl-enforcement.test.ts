/**
 * ACLs enforced over real sockets for SASL users, with kafkajs as the client (and kcat for a
 * librdkafka view): a user without ACLs is refused with Kafka's error codes, granted after
 * CreateAcls, refused again after DeleteAcls; Metadata leaves out topics the user may not see;
 * group and transactional APIs check their resources; the super user bypasses everything; ACLs
 * survive a server restart on the same data directory.
 */
import { join } from 'node:path';
import { Kafka, logLevel, type Admin, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AclOperation, AclPermissionType, PatternType, ResourceType } from '../../src/broker/acl/acl.js';
import type { KafkaServerOptions } from '../../src/server/config.js';
import { makeTempDir, removeTempDir } from '../support/temp-dir.js';
import { eventually, kcat, startServer, tempDataDir, type TestServer } from './helpers.js';
import { writeCredentialsFile } from '../support/sasl-credentials.js';

let dir: string;
let dataDir: string;
let serverOptions: KafkaServerOptions;
let t: TestServer;
const clients: { disconnect(): Promise<void> }[] = [];

beforeAll(async () => {
  dir = makeTempDir('acl-e2e');
  dataDir = tempDataDir();
  const credentialsFile = join(dir, 'users.json');
  writeCredentialsFile(credentialsFile, { passwords: { admin: 'admin-secret', alice: 'alice-secret' }, scramOnly: { bob: 'bob-secret' } });
  serverOptions = {
    sasl: { mechanisms: ['PLAIN', 'SCRAM-SHA-256'], credentialsFile },
    authorizer: { superUsers: ['User:admin'] },
  };
  t = await startServer({ dataDir, server: serverOptions });
  const admin = await adminAs('admin');
  await admin.createTopics({ topics: [{ topic: 'orders', numPartitions: 1 }, { topic: 'payments', numPartitions: 1 }, { topic: 'logs-app', numPartitions: 1 }] });
});

afterAll(async () => {
  for (const client of clients.splice(0)) await client.disconnect().catch(() => undefined);
  await t?.close();
  removeTempDir(dir);
});

function kafka(user: 'admin' | 'alice' | 'bob'): Kafka {
  // bob has only salted SCRAM credentials; alice and admin log in with PLAIN.
  const sasl = user === 'bob' ? { mechanism: 'scram-sha-256', username: 'bob', password: 'bob-secret' } : { mechanism: 'plain', username: user, password: `${user}-secret` };
  return new Kafka({ clientId: `acl-${user}`, brokers: [t.bootstrap], sasl: sasl as never, logLevel: logLevel.NOTHING, retry: { retries: 0 } });
}

async function adminAs(user: 'admin' | 'alice' | 'bob'): Promise<Admin> {
  const admin = kafka(user).admin();
  await admin.connect();
  clients.push(admin);
  return admin;
}

async function producerAs(user: 'admin' | 'alice' | 'bob', options: Parameters<Kafka['producer']>[0] = {}): Promise<Producer> {
  const producer = kafka(user).producer(options);
  await producer.connect();
  clients.push(producer);
  return producer;
}

/** The Kafka error type a kafkajs call fails with (its `type`, as kafkajs names Kafka's codes), or 'none'. */
async function outcome(work: () => Promise<unknown>): Promise<string> {
  try {
    await work();
    return 'none';
  } catch (error) {
    const found = findType(error);
    if (found === undefined) throw error;
    return found;
  }
}

function findType(error: unknown): string | undefined {
  const e = error as { type?: string; originalError?: unknown; errors?: unknown[]; cause?: unknown };
  if (typeof e?.type === 'string' && e.type !== 'UNKNOWN') return e.type;
  for (const inner of [e?.originalError, e?.cause, ...(e?.errors ?? [])]) {
    const found = inner === undefined ? undefined : findType(inner);
    if (found !== undefined) return found;
  }
  return undefined;
}

const acl = (overrides: Record<string, unknown>) => ({
  resourceType: ResourceType.TOPIC,
  resourceName: 'orders',
  resourcePatternType: PatternType.LITERAL,
  principal: 'User:alice',
  host: '*',
  operation: AclOperation.WRITE,
  permissionType: AclPermissionType.ALLOW,
  ...overrides,
});

const send = (producer: Producer, topic: string) => () => producer.send({ topic, messages: [{ value: `to ${topic}` }] });

describe('a SASL user (PLAIN) producing', () => {
  it('is refused with TOPIC_AUTHORIZATION_FAILED, granted after CreateAcls, refused again after DeleteAcls', async () => {
    const alice = await producerAs('alice');
    expect(await outcome(send(alice, 'orders'))).toBe('TOPIC_AUTHORIZATION_FAILED');

    const admin = await adminAs('admin');
    await admin.createAcls({ acl: [acl({})] as never });
    expect(await outcome(send(alice, 'orders'))).toBe('none');
    // WRITE on orders says nothing about payments.
    expect(await outcome(send(alice, 'payments'))).toBe('TOPIC_AUTHORIZATION_FAILED');

    const { filterResponses } = await admin.deleteAcls({ filters: [acl({}) as never] });
    expect(filterResponses[0].matchingAcls).toHaveLength(1);
    expect(await outcome(send(alice, 'orders'))).toBe('TOPIC_AUTHORIZATION_FAILED');
  });

  it('a DENY wins over an ALLOW', async () => {
    const admin = await adminAs('admin');
    await admin.createAcls({ acl: [acl({ resourceName: 'payments' }), acl({ resourceName: '*', principal: 'User:*', operation: AclOperation.ALL, permissionType: AclPermissionType.DENY, host: '127.0.0.1' })] as never });
    const alice = await producerAs('alice');
    expect(await outcome(send(alice, 'payments'))).toBe('TOPIC_AUTHORIZATION_FAILED');
    await admin.deleteAcls({ filters: [acl({ resourceName: '*', principal: 'User:*', operation: AclOperation.ALL, permissionType: AclPermissionType.DENY, host: '127.0.0.1' }) as never] });
    expect(await outcome(send(alice, 'payments'))).toBe('none');
    await admin.deleteAcls({ filters: [acl({ resourceName: 'payments' }) as never] });
  });

  it('the super user needs no ACL, even where a DENY applies to everyone else', async () => {
    const admin = await adminAs('admin');
    await admin.createAcls({ acl: [acl({ principal: 'User:*', operation: AclOperation.ALL, permissionType: AclPermissionType.DENY })] as never });
    const superUser = await producerAs('admin');
    expect(await outcome(send(superUser, 'orders'))).toBe('none');
    await admin.deleteAcls({ filters: [acl({ principal: 'User:*', operation: AclOperation.ALL, permissionType: AclPermissionType.DENY }) as never] });
  });
});

describe('a SASL user (SCRAM-SHA-256) with a PREFIXED ACL', () => {
  it('writes to the topics the prefix covers, only those', async () => {
    const admin = await adminAs('admin');
    await admin.createAcls({ acl: [acl({ principal: 'User:bob', resourceName: 'logs-', resourcePatternType: PatternType.PREFIXED })] as never });
    const bob = await producerAs('bob');
    expect(await outcome(send(bob, 'logs-app'))).toBe('none');
    expect(await outcome(send(bob, 'orders'))).toBe('TOPIC_AUTHORIZATION_FAILED');
    // Metadata for every topic lists only what bob may DESCRIBE (WRITE implies it): no error, just fewer topics.
    const bobAdmin = await adminAs('bob');
    expect((await bobAdmin.listTopics()).sort()).toEqual(['logs-app']);
    expect((await admin.listTopics()).sort()).toEqual(expect.arrayContaining(['logs-app', 'orders', 'payments']));
  });

  it('an idempotent producer needs IDEMPOTENT_WRITE on the cluster or WRITE on some topic (InitProducerId)', async () => {
    // kafkajs asks InitProducerId as it connects.
    expect(await outcome(() => producerAs('alice', { idempotent: true, maxInFlightRequests: 1, retry: { retries: 1 } }))).toBe('CLUSTER_AUTHORIZATION_FAILED');
    const bob = await producerAs('bob', { idempotent: true, maxInFlightRequests: 1, retry: { retries: 1 } });
    expect(await outcome(send(bob, 'logs-app'))).toBe('none');
  });
});

describe('consumer groups and transactions', () => {
  it('a consumer needs READ on its group and on the topic', async () => {
    const admin = await adminAs('admin');
    const producer = await producerAs('admin');
    await producer.send({ topic: 'payments', messages: [{ value: 'paid' }] });
    const alice = await adminAs('alice');
    // kafkajs finds the group coordinator through the brokers Metadata named.
    expect(await alice.listTopics()).toEqual([]);
    // FindCoordinator answers GROUP_AUTHORIZATION_FAILED (acl-apis.test.ts checks the code); kafkajs
    // reports any coordinator lookup failure as "Failed to find group coordinator".
    await expect(alice.fetchOffsets({ groupId: 'billing' })).rejects.toThrow(/Failed to find group coordinator/);

    await admin.createAcls({ acl: [acl({ resourceType: ResourceType.GROUP, resourceName: 'billing', operation: AclOperation.READ })] as never });
    expect(await alice.fetchOffsets({ groupId: 'billing' })).toEqual([]);

    // READ on the group is not enough: the topic needs READ too (without it alice cannot even see it).
    const consumer = kafka('alice').consumer({ groupId: 'billing', retry: { retries: 0 } });
    clients.push(consumer);
    await consumer.connect();
    expect(await outcome(() => consumer.subscribe({ topic: 'payments', fromBeginning: true }))).toBe('TOPIC_AUTHORIZATION_FAILED');
    await consumer.disconnect();

    await admin.createAcls({ acl: [acl({ resourceName: 'payments', operation: AclOperation.READ })] as never });
    const reader = kafka('alice').consumer({ groupId: 'billing', retry: { retries: 0 } });
    clients.push(reader);
    await reader.connect();
    await reader.subscribe({ topic: 'payments', fromBeginning: true });
    const seen: string[] = [];
    await reader.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) });
    await eventually(() => seen.includes('paid'), { what: 'alice reading payments in group billing' });
    await reader.disconnect();
    await admin.deleteAcls({ filters: [acl({ resourceName: 'payments', operation: AclOperation.READ }) as never, acl({ resourceType: ResourceType.GROUP, resourceName: 'billing', operation: AclOperation.READ }) as never] });
  });

  it('a transactional producer needs WRITE on its transactional id', async () => {
    const admin = await adminAs('admin');
    await admin.createAcls({ acl: [acl({ resourceName: 'orders' })] as never });
    const refused = await producerAs('alice', { transactionalId: 'alice-tx', maxInFlightRequests: 1, idempotent: true, retry: { retries: 1 } });
    // FindCoordinator for the transactional id answers TRANSACTIONAL_ID_AUTHORIZATION_FAILED (see
    // acl-apis.test.ts); kafkajs reports it as a coordinator it could not find.
    await expect(refused.transaction()).rejects.toThrow(/Failed to find group coordinator/);

    await admin.createAcls({ acl: [acl({ resourceType: ResourceType.TRANSACTIONAL_ID, resourceName: 'alice-tx' })] as never });
    const granted = await producerAs('alice', { transactionalId: 'alice-tx', maxInFlightRequests: 1, idempotent: true, retry: { retries: 1 } });
    const transaction = await granted.transaction();
    await transaction.send({ topic: 'orders', messages: [{ value: 'in a transaction' }] });
    await transaction.commit();
    await admin.deleteAcls({ filters: [acl({ resourceName: 'orders' }) as never] });
  });
});

describe('ACL management over the protocol', () => {
  it('only a principal with ALTER / DESCRIBE on the cluster manages ACLs', async () => {
    const alice = await adminAs('alice');
    expect(await outcome(() => alice.createAcls({ acl: [acl({ principal: 'User:alice', operation: AclOperation.ALL })] as never }))).toBe('CLUSTER_AUTHORIZATION_FAILED');
    expect(await outcome(() => alice.describeAcls({ resourceType: ResourceType.ANY, resourcePatternType: PatternType.ANY, operation: AclOperation.ANY, permissionType: AclPermissionType.ANY } as never))).toBe('CLUSTER_AUTHORIZATION_FAILED');
    const admin = await adminAs('admin');
    const described = await admin.describeAcls({ resourceType: ResourceType.ANY, resourcePatternType: PatternType.ANY, principal: 'User:bob', operation: AclOperation.ANY, permissionType: AclPermissionType.ANY } as never);
    expect(described.resources).toEqual([
      {
        resourceType: ResourceType.TOPIC,
        resourceName: 'logs-',
        resourcePatternType: PatternType.PREFIXED,
        acls: [{ principal: 'User:bob', host: '*', operation: AclOperation.WRITE, permissionType: AclPermissionType.ALLOW }],
      },
    ]);
  });

  it('kcat (librdkafka) as alice sees only the topics she may describe and is refused the others', async () => {
    const auth = ['-X', 'security.protocol=SASL_PLAINTEXT', '-X', 'sasl.mechanisms=PLAIN', '-X', 'sasl.username=alice', '-X', 'sasl.password=alice-secret'];
    const admin = await adminAs('admin');
    await admin.createAcls({ acl: [acl({ resourceName: 'payments', operation: AclOperation.DESCRIBE })] as never });
    const { stdout } = await kcat(['-b', t.bootstrap, ...auth, '-L', '-J']);
    expect(JSON.parse(stdout).topics.map((topic: { topic: string }) => topic.topic)).toEqual(['payments']);
    const { stdout: named } = await kcat(['-b', t.bootstrap, ...auth, '-L', '-J', '-t', 'orders']);
    expect(JSON.parse(named).topics).toEqual([expect.objectContaining({ topic: 'orders', error: expect.stringMatching(/authoriz/i) })]);
    await admin.deleteAcls({ filters: [acl({ resourceName: 'payments', operation: AclOperation.DESCRIBE }) as never] });
  });
});

describe('after a restart', () => {
  it('the ACLs are still there and still enforced', async () => {
    const admin = await adminAs('admin');
    await admin.createAcls({ acl: [acl({ resourceName: 'orders' })] as never });
    for (const client of clients.splice(0)) await client.disconnect().catch(() => undefined);
    await t.stop();
    t = await startServer({ dataDir, server: serverOptions });

    const alice = await producerAs('alice');
    expect(await outcome(send(alice, 'orders'))).toBe('none');
    expect(await outcome(send(alice, 'payments'))).toBe('TOPIC_AUTHORIZATION_FAILED');
    const restartedAdmin = await adminAs('admin');
    await restartedAdmin.deleteAcls({ filters: [acl({ resourceName: 'orders' }) as never] });

    for (const client of clients.splice(0)) await client.disconnect().catch(() => undefined);
    await t.stop();
    t = await startServer({ dataDir, server: serverOptions });
    const again = await producerAs('alice');
    expect(await outcome(send(again, 'orders'))).toBe('TOPIC_AUTHORIZATION_FAILED');
  });
});
