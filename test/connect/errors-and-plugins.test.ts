/**
 * errors.tolerance with a dead letter queue (and its context headers), transforms inside a running
 * sink, and plugins loaded from an npm package named in plugin.path by `sluice connect standalone`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { startStandalone, type StandaloneWorker } from '../../src/connect/index.js';
import type { EmbeddedCluster } from '../../src/connect/cluster.js';
import { CliProcess, killRunning } from '../cli/run-cli.js';
import { eventually } from '../support/eventually.js';
import { makeTempDir, removeTempDir } from '../support/temp-dir.js';
import { fileLines, stringConverterProps, toProperties } from './helpers.js';

const DIST_INDEX = join(dirname(fileURLToPath(import.meta.url)), '../../dist/src/index.js');
const quiet = { info: () => {}, error: () => {} };

let dir: string;
let worker: StandaloneWorker | null = null;

afterEach(async () => {
  killRunning();
  await worker?.close();
  worker = null;
  removeTempDir(dir);
});

interface DeadLetter {
  value: string;
  headers: Record<string, string>;
}

async function readTopic(cluster: EmbeddedCluster, topic: string, count: number): Promise<DeadLetter[]> {
  const consumer = cluster.sluice.consumer();
  const seen: DeadLetter[] = [];
  try {
    await consumer.connect();
    consumer.assign([{ topic, partition: 0, offset: 0 }]);
    await consumer.run({
      eachMessage: ({ message }) => {
        const headers = Object.fromEntries(Object.entries(message.headers).map(([name, value]) => [name, String(value)]));
        seen.push({ value: message.value!.toString(), headers });
      },
    });
    await eventually(() => seen.length >= count, { what: `${count} records in ${topic}` });
  } finally {
    await consumer.disconnect();
  }
  return seen;
}

describe('errors.tolerance and the dead letter queue', () => {
  it('skips records its converter cannot read into the DLQ with context headers, and transforms the rest', async () => {
    dir = makeTempDir('connect-dlq');
    const input = join(dir, 'in.txt');
    const output = join(dir, 'out.txt');
    writeFileSync(input, ['{"n":1}', 'not json', '{"n":3}', '{"n":', '{"n":5}'].join('\n') + '\n');
    worker = await startStandalone({
      workerProps: stringConverterProps(dir),
      connectorProps: [
        { name: 'src', 'connector.class': 'FileStreamSource', file: input, topic: 'events' },
        {
          name: 'json-sink',
          'connector.class': 'FileStreamSink',
          file: output,
          topics: 'events',
          'value.converter': 'org.apache.kafka.connect.json.JsonConverter',
          'value.converter.schemas.enable': 'false',
          'errors.tolerance': 'all',
          'errors.deadletterqueue.topic.name': 'dlq',
          'errors.deadletterqueue.context.headers.enable': 'true',
          transforms: 'stamp',
          'transforms.stamp.type': 'org.apache.kafka.connect.transforms.InsertField$Value',
          'transforms.stamp.topic.field': 'from',
        },
      ],
      log: quiet,
    });
    await eventually(() => fileLines(output).length === 3, { what: 'the three good records in the output' });
    expect(fileLines(output)).toEqual(['{"n":1,"from":"events"}', '{"n":3,"from":"events"}', '{"n":5,"from":"events"}']);
    const dead = await readTopic(worker.herder.worker.cluster as EmbeddedCluster, 'dlq', 2);
    expect(dead.map((record) => record.value)).toEqual(['not json', '{"n":']);
    expect(dead[0]!.headers).toMatchObject({
      '__connect.errors.topic': 'events',
      '__connect.errors.partition': '0',
      '__connect.errors.offset': '1',
      '__connect.errors.connector.name': 'json-sink',
      '__connect.errors.task.id': '0',
      '__connect.errors.stage': 'VALUE_CONVERTER',
      '__connect.errors.class.name': 'JsonConverter',
      '__connect.errors.exception.class.name': 'ConnectDataError',
    });
    expect(dead[1]!.headers['__connect.errors.offset']).toBe('3');
    expect(dead[0]!.headers['__connect.errors.exception.message']).toContain('Converting byte[] to Kafka Connect data failed due to serialization error');
    expect(worker.herder.connectorStatus('json-sink').tasks[0]!.state).toBe('RUNNING');
  });

  it('fails the task on the first bad record with errors.tolerance=none', async () => {
    dir = makeTempDir('connect-dlq');
    const input = join(dir, 'in.txt');
    writeFileSync(input, 'not json\n');
    worker = await startStandalone({
      workerProps: stringConverterProps(dir),
      connectorProps: [
        { name: 'src', 'connector.class': 'FileStreamSource', file: input, topic: 'events' },
        { name: 'strict', 'connector.class': 'FileStreamSink', file: join(dir, 'out.txt'), topics: 'events', 'value.converter': 'JsonConverter' },
      ],
      log: quiet,
    });
    await eventually(() => worker!.herder.connectorStatus('strict').tasks[0]?.state === 'FAILED', { what: 'the strict sink task failing' });
    expect(worker.herder.connectorStatus('strict').tasks[0]!.trace).toContain('Tolerance exceeded in error handler: VALUE_CONVERTER failed in JsonConverter');
  });
});

describe('plugins from plugin.path', () => {
  it('loads a source connector and a transform exported by an npm package', { timeout: 60_000 }, async () => {
    dir = makeTempDir('connect-plugin');
    const pluginDir = join(dir, 'node_modules', 'sluice-test-plugin');
    mkdirSync(pluginDir, { recursive: true });
    writeFileSync(join(pluginDir, 'package.json'), JSON.stringify({ name: 'sluice-test-plugin', version: '2.0.0', type: 'module', main: 'index.js' }));
    writeFileSync(
      join(pluginDir, 'index.js'),
      `import { SourceConnector, SourceTask, ConfigDef, sourceRecord, Schemas } from ${JSON.stringify(DIST_INDEX)};
const def = () => new ConfigDef()
  .define({ name: 'count', type: 'INT', importance: 'HIGH', documentation: 'records to make' })
  .define({ name: 'topic', type: 'STRING', importance: 'HIGH', documentation: 'where' });
export class CounterSourceTask extends SourceTask {
  version() { return '2.0.0'; }
  start(props) { this.count = Number(props.count); this.topic = props.topic; this.next = this.context.offsetStorageReader.offset({ counter: 'main' })?.n ?? 0; }
  async poll() {
    if (this.next >= this.count) { await new Promise((resolve) => setTimeout(resolve, 50)); return null; }
    const n = this.next++;
    return [sourceRecord({ topic: this.topic, valueSchema: Schemas.STRING, value: 'value ' + n, sourcePartition: { counter: 'main' }, sourceOffset: { n: n + 1 } })];
  }
  stop() {}
}
export class CounterSourceConnector extends SourceConnector {
  version() { return '2.0.0'; }
  config() { return def(); }
  start(props) { this.props = props; }
  taskClass() { return CounterSourceTask; }
  taskConfigs() { return [this.props]; }
  stop() {}
}
export class Upper {
  configure() {}
  config() { return new ConfigDef(); }
  apply(record) { return { ...record, value: String(record.value).toUpperCase() }; }
}
`,
    );
    const output = join(dir, 'out.txt');
    writeFileSync(join(dir, 'worker.properties'), toProperties({ ...stringConverterProps(dir), 'plugin.path': 'sluice-test-plugin' }));
    writeFileSync(join(dir, 'counter.properties'), toProperties({ name: 'counter', 'connector.class': 'CounterSource', count: '50', topic: 'counts' }));
    writeFileSync(
      join(dir, 'sink.properties'),
      toProperties({ name: 'sink', 'connector.class': 'FileStreamSink', file: output, topics: 'counts', transforms: 'up', 'transforms.up.type': 'sluice-test-plugin/Upper' }),
    );
    const cli = new CliProcess(['connect', 'standalone', join(dir, 'worker.properties'), join(dir, 'counter.properties'), join(dir, 'sink.properties')]);
    await cli.waitForStdout((out) => out.includes('listening on'), 'its listening line');
    const url = /listening on (\S+)/.exec(cli.stdout)![1]!;
    await eventually(() => fileLines(output).length === 50, { what: '50 records from the plugin connector' });
    expect(fileLines(output)).toEqual(Array.from({ length: 50 }, (_, n) => `VALUE ${n}`));
    const plugins = (await (await fetch(`${url}/connector-plugins`)).json()) as unknown[];
    expect(plugins).toContainEqual({ class: 'sluice-test-plugin/CounterSourceConnector', type: 'source', version: '2.0.0' });
    const offsets = (await (await fetch(`${url}/connectors/counter/offsets`)).json()) as unknown;
    await eventually(async () => JSON.stringify(await (await fetch(`${url}/connectors/counter/offsets`)).json()) === JSON.stringify({ offsets: [{ partition: { counter: 'main' }, offset: { n: 50 } }] }), {
      what: `the counter's stored offset (last seen ${JSON.stringify(offsets)})`,
    });
  });
});
