/**
 * The _schemas topic as Confluent's registry keeps it: compacted, one partition, keys and values
 * in Confluent's JSON (keytype SCHEMA with magic 1, CONFIG, MODE, DELETE_SUBJECT with magic 0,
 * tombstones for permanent deletes); a registry started on records written in that format by
 * someone else serves them, and the next id follows the highest one it read.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Sluice } from '../../src/sluice.js';
import { SCHEMAS_TOPIC } from '../../src/registry/schema-log.js';
import { openSchemaRegistry, startRegistryServer } from '../../src/registry/index.js';
import { quietLogger } from '../broker/broker-test-helpers.js';
import { eventually } from '../support/eventually.js';
import { makeTempDir, removeTempDir } from '../support/temp-dir.js';
import { RegistryHarness } from './registry-harness.js';

const RECORD = JSON.stringify({ type: 'record', name: 'R', fields: [{ name: 'a', type: 'int' }] });

async function readSchemasTopic(sluice: Sluice): Promise<{ key: unknown; value: unknown }[]> {
  const [{ high }] = await sluice.admin().fetchTopicOffsets(SCHEMAS_TOPIC);
  const records: { key: unknown; value: unknown }[] = [];
  const consumer = sluice.consumer();
  await consumer.connect();
  consumer.assign([{ topic: SCHEMAS_TOPIC, partition: 0, offset: 0 }]);
  await consumer.run({
    eachMessage: async ({ message }) =>
      void records.push({ key: JSON.parse(message.key!.toString()), value: message.value === null ? null : JSON.parse(message.value.toString()) }),
  });
  await eventually(() => records.length === high, { what: 'reading _schemas to its end' });
  await consumer.disconnect();
  return records;
}

describe('the _schemas topic', () => {
  let harness: RegistryHarness;

  beforeEach(async () => {
    harness = await RegistryHarness.start();
  });

  afterEach(async () => {
    await harness.stop();
  });

  it("holds Confluent's keys and values, compacted", async () => {
    await harness.call('POST', '/subjects/s/versions', { schema: RECORD });
    await harness.call('PUT', '/config/s', { compatibility: 'FULL' });
    await harness.call('PUT', '/mode', { mode: 'READWRITE' });
    await harness.call('DELETE', '/subjects/s');
    await harness.call('DELETE', '/subjects/s?permanent=true');

    const metadata = harness.sluice.broker.topicMetadata(SCHEMAS_TOPIC);
    expect(metadata.partitionCount).toBe(1);
    expect(metadata.configs['cleanup.policy']).toBe('compact');

    const records = await readSchemasTopic(harness.sluice);
    const canonical = '{"name":"R","type":"record","fields":[{"name":"a","type":"int"}]}';
    expect(records).toEqual([
      { key: { keytype: 'SCHEMA', subject: 's', version: 1, magic: 1 }, value: { subject: 's', version: 1, id: 1, schema: canonical, deleted: false } },
      { key: { keytype: 'CONFIG', subject: 's', magic: 0 }, value: { compatibilityLevel: 'FULL' } },
      { key: { keytype: 'MODE', magic: 0 }, value: { mode: 'READWRITE' } },
      { key: { keytype: 'SCHEMA', subject: 's', version: 1, magic: 1 }, value: { subject: 's', version: 1, id: 1, schema: canonical, deleted: true } },
      { key: { keytype: 'DELETE_SUBJECT', subject: 's', magic: 0 }, value: { subject: 's', version: 1 } },
      { key: { keytype: 'SCHEMA', subject: 's', version: 1, magic: 1 }, value: null },
      { key: { keytype: 'CONFIG', subject: 's', magic: 0 }, value: null },
    ]);
  });
});

describe('a registry started on records written elsewhere', () => {
  let dataDir: string;

  beforeEach(() => {
    dataDir = makeTempDir('registry-import');
  });

  afterEach(() => {
    removeTempDir(dataDir);
  });

  it('serves them, and gives the next schema the id after the highest it read', async () => {
    const sluice = await Sluice.open({ dataDir, shards: 1, logger: quietLogger });
    try {
      await sluice.admin().createTopics({ topics: [{ topic: SCHEMAS_TOPIC, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }] });
      const producer = sluice.producer();
      await producer.connect();
      const record = (key: object, value: object | null) => ({ key: JSON.stringify(key), value: value === null ? null : JSON.stringify(value) });
      await producer.send({
        topic: SCHEMAS_TOPIC,
        messages: [
          record({ keytype: 'NOOP', magic: 0 }, null),
          record({ keytype: 'SCHEMA', subject: 'legacy', version: 1, magic: 1 }, { subject: 'legacy', version: 1, id: 41, schema: RECORD, deleted: false }),
          record(
            { keytype: 'SCHEMA', subject: 'legacy-json', version: 3, magic: 1 },
            { subject: 'legacy-json', version: 3, id: 42, schemaType: 'JSON', schema: '{"type":"string"}', deleted: false },
          ),
          record({ keytype: 'CONFIG', magic: 0 }, { compatibilityLevel: 'NONE' }),
        ],
      });
      await producer.disconnect();

      const registry = await openSchemaRegistry({ sluice });
      const server = await startRegistryServer(registry, { port: 0 });
      try {
        const get = async (path: string) => (await fetch(`${server.url}${path}`)).json();
        expect(await get('/schemas/ids/41')).toEqual({ schema: RECORD });
        expect(await get('/subjects/legacy-json/versions')).toEqual([3]);
        expect(await get('/config')).toEqual({ compatibilityLevel: 'NONE' });
        const registered = await fetch(`${server.url}/subjects/new/versions`, {
          method: 'POST',
          headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
          body: JSON.stringify({ schema: '{"type":"record","name":"N","fields":[]}' }),
        });
        expect(await registered.json()).toEqual({ id: 43 });
      } finally {
        await server.close();
        await registry.close();
      }
    } finally {
      await sluice.close();
    }
  });
});
