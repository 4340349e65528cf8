/**
 * KIP-158: a source connector's topics created by the worker with the connector's
 * topic.creation.* settings (the first matching group's, else default's), validated as Kafka
 * validates them, and left to the broker's defaults when the worker disables it.
 */
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { EmbeddedCluster } from '../../src/connect/cluster.js';
import { startStandalone, type StandaloneWorker } from '../../src/connect/index.js';
import { eventually } from '../support/eventually.js';
import { makeTempDir, removeTempDir } from '../support/temp-dir.js';
import { stringConverterProps, writeInput } from './helpers.js';

const quiet = { info: () => {}, error: () => {} };
let dir = '';
let worker: StandaloneWorker | null = null;

afterEach(async () => {
  await worker?.close();
  worker = null;
  removeTempDir(dir);
});

async function topicShape(topic: string): Promise<{ partitions: number; retentionMs: string | undefined }> {
  const admin = (worker!.herder.worker.cluster as EmbeddedCluster).sluice.admin();
  const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
  const configs = await admin.describeConfigs({ resources: [{ type: 2, name: topic, configNames: ['retention.ms'] }] });
  return { partitions: metadata.topics[0]!.partitions.length, retentionMs: configs.resources[0]!.configEntries[0]?.configValue ?? undefined };
}

const creation = {
  'topic.creation.default.replication.factor': '1',
  'topic.creation.default.partitions': '3',
  'topic.creation.groups': 'state',
  'topic.creation.state.include': 'state-.*',
  'topic.creation.state.exclude': 'state-raw',
  'topic.creation.state.partitions': '2',
  'topic.creation.state.retention.ms': '3600000',
};

describe('topic.creation.* (KIP-158)', () => {
  it("creates each source topic with its group's partitions and configs, and validates the settings", async () => {
    dir = makeTempDir('connect-topic-creation');
    const input = join(dir, 'in.txt');
    writeInput(input, 3);
    worker = await startStandalone({ workerProps: stringConverterProps(dir), log: quiet });
    for (const topic of ['events', 'state-users', 'state-raw']) {
      await worker.herder.putConnectorConfig(`to-${topic}`, { 'connector.class': 'FileStreamSource', file: input, topic, ...creation }, false);
    }
    await eventually(async () => (await worker!.herder.connectorOffsets('to-state-raw')).offsets.length === 1, { what: 'the last connector sending its lines' });
    expect(await topicShape('events')).toEqual({ partitions: 3, retentionMs: '604800000' });
    expect(await topicShape('state-users')).toEqual({ partitions: 2, retentionMs: '3600000' });
    expect(await topicShape('state-raw')).toEqual({ partitions: 3, retentionMs: '604800000' });

    const errors = (config: Record<string, string>) =>
      Object.fromEntries(
        worker!.herder
          .validate({ 'connector.class': 'FileStreamSource', name: 'v', topic: 't', ...config })
          .configs.filter((entry) => entry.value.errors.length > 0)
          .map((entry) => [entry.value.name, entry.value.errors]),
      );
    expect(errors({ 'topic.creation.default.partitions': '0', 'topic.creation.groups': 'default' })).toEqual({
      'topic.creation.default.replication.factor': ['Missing required configuration "topic.creation.default.replication.factor" which has no default value.'],
      'topic.creation.default.partitions': ["Invalid value 0 for configuration topic.creation.default.partitions: Number of partitions must be positive, or -1 to use the broker's default"],
      'topic.creation.groups': ["Group 'default' is reserved and cannot be listed in topic.creation.groups"],
    });
    expect(errors(creation)).toEqual({});
  });

  it('leaves topics to the broker when the worker sets topic.creation.enable=false', async () => {
    dir = makeTempDir('connect-topic-creation');
    const input = join(dir, 'in.txt');
    writeInput(input, 3);
    worker = await startStandalone({ workerProps: { ...stringConverterProps(dir), 'topic.creation.enable': 'false' }, log: quiet });
    await worker.herder.putConnectorConfig('plain', { 'connector.class': 'FileStreamSource', file: input, topic: 'events', 'topic.creation.default.partitions': '0' }, false);
    await eventually(async () => (await worker!.herder.connectorOffsets('plain')).offsets.length === 1, { what: 'the lines sent' });
    expect((await topicShape('events')).partitions).toBe(1);
  });
});
