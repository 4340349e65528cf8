/**
 * The web console over a real socket (Node's fetch), without a browser: basic auth and the
 * broker's ACLs deciding what each page shows, the chart history (BrokerHistory) bounded to historySamples,
 * the console's options checked, and `console: false` leaving / to Burrow's 404.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AclOperation, AclPermissionType, PatternType, ResourceType, type AclBinding } from '../../src/broker/acl/acl.js';
import { Broker } from '../../src/broker/broker.js';
import { InvalidConfigError } from '../../src/errors.js';
import { BrokerHistory } from '../../src/http/console/history.js';
import { HttpServer, type HttpOptions } from '../../src/http/http-server.js';
import { avro, jsonSchema, protobufSerializer } from '../../src/client/schema-serializers.js';
import { encodeRecordBatch } from '../../src/protocol/record-batch-builder.js';
import { openSchemaRegistry, startRegistryServer } from '../../src/registry/index.js';
import { batchOf, quietLogger } from '../broker/broker-test-helpers.js';
import { eventually } from '../support/eventually.js';
import { writeCredentialsFile } from '../support/sasl-credentials.js';
import { makeTempDir, removeTempDir } from '../support/temp-dir.js';
import { basicAuth, get } from './http-test-support.js';

const ALICE = basicAuth('alice', 'alice-secret');
const ADMIN = basicAuth('admin', 'admin-secret');

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serve(options: Omit<HttpOptions, 'port'> = {}): Promise<{ broker: Broker; http: HttpServer; base: string; dir: string }> {
  const dir = makeTempDir('http-console');
  cleanups.push(async () => removeTempDir(dir));
  const broker = await Broker.open({ dataDir: join(dir, 'data'), shards: 1, lagMinCommitIntervalMs: 0, logger: quietLogger });
  cleanups.push(() => broker.close());
  const http = new HttpServer(broker, { port: 0, ...options });
  cleanups.push(() => http.close());
  return { broker, http, base: `http://127.0.0.1:${(await http.listen()).port}`, dir };
}

function allow(principal: string, resourceType: number, resourceName: string, operation: number): AclBinding {
  return { resourceType, resourceName, patternType: PatternType.LITERAL, principal, host: '*', operation, permissionType: AclPermissionType.ALLOW };
}

/** The text of the links in the rows of the page's table of that class. */
function linksOf(page: string, table: string): string[] {
  const body = new RegExp(`<table class="${table}">[\\s\\S]*?</table>`).exec(page)?.[0] ?? '';
  return [...body.matchAll(/<tr><td><a href="[^"]*">([^<]*)<\/a>/g)].map((match) => match[1]);
}

describe('the web console over HTTP', () => {
  it('asks for basic auth with SASL users and shows each user only what the ACLs let it describe or read', async () => {
    const dir = makeTempDir('http-console-users');
    cleanups.push(async () => removeTempDir(dir));
    const credentialsFile = join(dir, 'users.json');
    writeCredentialsFile(credentialsFile, { passwords: { admin: 'admin-secret', alice: 'alice-secret' } });
    const { broker, base } = await serve({ credentialsFile, authorizer: { superUsers: ['User:admin'] } });
    await broker.createTopic('visible', { partitions: 1 });
    await broker.createTopic('hidden', { partitions: 1 });
    await broker.produce('visible', 0, batchOf(['v0']), 1);
    await broker.groups.commitOffsets({ groupId: 'watched', offsets: [{ topic: 'visible', partition: 0, offset: 0 }, { topic: 'hidden', partition: 0, offset: 0 }] });
    await broker.groups.commitOffsets({ groupId: 'secret', offsets: [{ topic: 'visible', partition: 0, offset: 0 }] });

    const anonymous = await get(base, '/');
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Basic realm="sluice", charset="UTF-8"');

    broker.createAcls([
      allow('User:alice', ResourceType.TOPIC, 'visible', AclOperation.DESCRIBE),
      allow('User:alice', ResourceType.GROUP, 'watched', AclOperation.DESCRIBE),
    ]);
    const home = await get(base, '/', ALICE);
    expect(home.status).toBe(200);
    expect(linksOf(home.text, 'topics')).toEqual(['visible']);
    expect(linksOf(home.text, 'groups')).toEqual(['watched']);
    expect(linksOf((await get(base, '/', ADMIN)).text, 'topics')).toEqual(['hidden', 'visible', '__consumer_offsets']);

    expect((await get(base, '/topics/hidden', ALICE)).status).toBe(404);
    expect((await get(base, '/topics/hidden/messages', ALICE)).status).toBe(404);
    expect((await get(base, '/groups/secret', ALICE)).status).toBe(403);
    // The group's partitions of the topic she may not describe are left out.
    const group = await get(base, '/groups/watched', ALICE);
    expect(group.status).toBe(200);
    expect(linksOf(group.text, 'lag')).toEqual(['visible']);
    expect(linksOf((await get(base, '/groups/watched', ADMIN)).text, 'lag')).toEqual(['hidden', 'visible']);
    // Browsing records needs READ, as a fetch does; the load page DESCRIBE on the cluster, as /metrics.
    const refused = await get(base, '/topics/visible/messages', ALICE);
    expect(refused.status).toBe(403);
    expect(refused.text).not.toContain('v0');
    expect((await get(base, '/load', ALICE)).status).toBe(403);
    broker.createAcls([allow('User:alice', ResourceType.TOPIC, 'visible', AclOperation.READ)]);
    const browsed = await get(base, '/topics/visible/messages', ALICE);
    expect(browsed.status).toBe(200);
    expect(browsed.text).toContain('<pre>v0</pre>');
    expect((await get(base, '/load', ADMIN)).status).toBe(200);
  });

  it('answers a bad browse request 400 naming the problem', async () => {
    const { broker, base } = await serve();
    await broker.createTopic('t', { partitions: 2 });
    for (const [query, message] of [
      ['partition=2', 'partition must be an integer from 0 to 1, got &quot;2&quot;'],
      ['offset=-1', 'offset must be an integer from 0'],
      ['format=xml', 'format must be one of text, json, hex'],
      ['limit=0', 'limit must be an integer from 1 to 200'],
      ['timestamp=yesterday', 'timestamp must be milliseconds since the epoch or an ISO 8601 time'],
    ]) {
      const answer = await get(base, `/topics/t/messages?${query}`);
      expect(answer.status, query).toBe(400);
      expect(answer.text, query).toContain(message);
    }
    expect((await get(base, '/topics/none')).status).toBe(404);
    expect((await get(base, '/groups/none')).status).toBe(404);
  });

  it('keeps historySamples samples of lag, traffic and shards, dropping the oldest', async () => {
    const { broker } = await serve({ console: false });
    await broker.createTopic('t', { partitions: 1 });
    await broker.produce('t', 0, batchOf(['a', 'b', 'c']), 1);
    await broker.groups.commitOffsets({ groupId: 'g', offsets: [{ topic: 't', partition: 0, offset: 1 }] });
    const history = new BrokerHistory(broker, { sampleIntervalMs: 10, historySamples: 5 });
    cleanups.push(async () => history.stop());
    history.start();
    await eventually(() => history.all().length === 5, { what: 'five samples' });
    const oldest = history.all()[0];
    await eventually(() => history.all()[0] !== oldest, { what: 'the oldest sample dropped' });
    expect(history.all().length).toBe(5);
    const latest = history.all().at(-1)!;
    expect(latest.groups.get('g')).toEqual({ totalLag: 2, partitions: new Map([['t-0', { topic: 't', partition: 0, lag: 2 }]]) });
    expect(latest.shards).toEqual([{ shard: 0, recordsInPerSec: 0, recordsOutPerSec: 0, requestRingUsedBytes: 0, completionRingUsedBytes: 0, backlogRequests: 0 }]);
    expect(latest.recordsInPerSec).toBe(0);
    // Records appended between two samples show as a rate, on the broker and on their shard.
    await broker.produce('t', 0, batchOf(Array.from({ length: 100 }, (_, i) => `r${i}`)), 1);
    await eventually(() => history.all().some((sample) => (sample.recordsInPerSec ?? 0) > 0 && (sample.shards[0].recordsInPerSec ?? 0) > 0), {
      what: 'a sample with records in',
    });
  });

  it("draws a group's total lag rather than a line per partition past ten partitions", async () => {
    const { broker, base } = await serve({ console: { sampleIntervalMs: 20 } });
    await broker.createTopic('few', { partitions: 2 });
    await broker.createTopic('many', { partitions: 11 });
    await broker.groups.commitOffsets({ groupId: 'small', offsets: [0, 1].map((partition) => ({ topic: 'few', partition, offset: 0 })) });
    await broker.groups.commitOffsets({ groupId: 'large', offsets: Array.from({ length: 11 }, (_, partition) => ({ topic: 'many', partition, offset: 0 })) });
    const legend = async (group: string): Promise<string> => {
      const page = (await get(base, `/groups/${group}`)).text;
      return /aria-label="Symbol legend titled '([^']*)' for [^"]*with \d+ values?: ([^"]*)"/.exec(page)?.slice(1).join(' = ') ?? '';
    };
    await eventually(async () => (await legend('small')) !== '', { what: 'a sample of the group drawn' });
    expect(await legend('small')).toBe('partition = few-0, few-1');
    expect(await legend('large')).toBe('all partitions = total');
  });

  it('decodes wire-format keys and values with the schema their id names in the Schema Registry', async () => {
    const { broker, base: plainBase } = await serve();
    const registry = await openSchemaRegistry({ broker });
    cleanups.push(() => registry.close());
    const registryServer = await startRegistryServer(registry, { port: 0 });
    cleanups.push(() => registryServer.close());
    const people = await avro<{ name: string; age: number; photo: Buffer }>({
      registry: registryServer.url,
      subject: 'people-value',
      schema: { type: 'record', name: 'Person', fields: [{ name: 'name', type: 'string' }, { name: 'age', type: 'int' }, { name: 'photo', type: 'bytes' }] },
    });
    const orders = await jsonSchema<{ id: number }>({ registry: registryServer.url, subject: 'orders-value', schema: { type: 'object', properties: { id: { type: 'integer' } } } });
    const events = await protobufSerializer<{ kind: string; at: number }>({
      registry: registryServer.url,
      subject: 'events-value',
      schema: 'syntax = "proto3"; package shop; message Other { int32 x = 1; } message Event { string kind = 1; int64 at = 2; }',
      messageType: 'shop.Event',
    });
    await broker.createTopic('people', { partitions: 1 });
    const unknownId = Buffer.from([0, 0, 0, 0x30, 0x39, 1, 2]);
    await broker.produce(
      'people',
      0,
      encodeRecordBatch({
        records: [
          { key: Buffer.from('p1'), value: people.serialize({ name: '<Ada>', age: 36, photo: Buffer.from([0xca, 0xfe]) }) },
          { key: null, value: Buffer.from('{"plain":true}') },
          { key: null, value: unknownId },
          { key: null, value: orders.serialize({ id: 7 }) },
          { key: null, value: events.serialize({ kind: 'paid', at: 1_700_000_000_000 }) },
        ],
      }),
      1,
    );
    const http = new HttpServer(broker, { port: 0, console: { schemaRegistry: registryServer.url } });
    cleanups.push(() => http.close());
    const base = `http://127.0.0.1:${(await http.listen()).port}`;
    const page = await get(base, '/topics/people/messages?format=schema');
    expect(page.status).toBe(200);
    const rows = page.text.split('<tr><td class="num">').slice(1);
    expect(rows).toHaveLength(5);
    expect(rows[0]).toContain('&quot;name&quot;: &quot;&lt;Ada&gt;&quot;');
    expect(rows[0]).toContain('&quot;age&quot;: 36');
    expect(rows[0]).toContain('&quot;photo&quot;: &quot;cafe&quot;');
    expect(rows[0]).toContain(`AVRO schema id ${people.schemaId}`);
    // A key not in the wire format: as the json format shows it.
    expect(rows[0]).toContain('<td class="field"><pre>p1</pre></td>');
    expect(rows[1]).toContain('&quot;plain&quot;: true');
    // Id 12345 is not registered: the bytes as hex, and the registry's answer.
    expect(rows[2]).toContain('000000  00 00 00 30 39 01 02');
    expect(rows[2]).toMatch(/schema registry GET \/schemas\/ids\/12345: [^<]*not found/i);
    expect(rows[3]).toContain('&quot;id&quot;: 7');
    expect(rows[3]).toContain(`JSON schema id ${orders.schemaId}`);
    // The second message of the file, found by its message indexes; int64 as a string.
    expect(rows[4]).toContain('&quot;kind&quot;: &quot;paid&quot;');
    expect(rows[4]).toContain('&quot;at&quot;: &quot;1700000000000&quot;');
    expect(rows[4]).toContain(`PROTOBUF schema id ${events.schemaId}`);
    // Without a registry there is no such format.
    const refused = await get(plainBase, '/topics/people/messages?format=schema');
    expect(refused.status).toBe(400);
    expect(refused.text).toContain("schema needs the console&#39;s schemaRegistry option");
    expect(() => new HttpServer(broker, { port: 0, console: { schemaRegistry: 'not a url' } })).toThrow(InvalidConfigError);
  });

  it('checks its options, and leaves / to Burrow with console: false', async () => {
    const dir = makeTempDir('http-console-options');
    cleanups.push(async () => removeTempDir(dir));
    const broker = await Broker.open({ dataDir: join(dir, 'data'), shards: 1, logger: quietLogger });
    cleanups.push(() => broker.close());
    for (const bad of [{ refreshSeconds: 0 }, { sampleIntervalMs: 1 }, { historySamples: 1 }, { colour: 'blue' }] as object[]) {
      expect(() => new HttpServer(broker, { port: 0, console: bad }), JSON.stringify(bad)).toThrow(InvalidConfigError);
    }
    const http = new HttpServer(broker, { port: 0, console: false });
    cleanups.push(() => http.close());
    const base = `http://127.0.0.1:${(await http.listen()).port}`;
    const root = await get(base, '/');
    expect(root.status).toBe(404);
    expect(JSON.parse(root.text)).toMatchObject({ error: true, message: 'invalid request type' });
  });
});
