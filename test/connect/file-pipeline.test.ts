/**
 * A file goes file -> FileStreamSource -> topic -> FileStreamSink -> file through a standalone
 * worker on an embedded broker, and comes out identical; the source's stored offset is the byte
 * length of the file, and a second worker on the same offsets file adds nothing.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startStandalone, type StandaloneWorker } from '../../src/connect/index.js';
import { CliProcess, killRunning } from '../cli/run-cli.js';
import { eventually } from '../support/eventually.js';
import { makeTempDir, removeTempDir } from '../support/temp-dir.js';
import { fileLines, stringConverterProps, writeInput } from './helpers.js';

/** npm run soak:connect: 1,000,000 lines. */
const LINES = Number(process.env.CONNECT_SOAK_LINES ?? 20_000);
const TIMEOUT_MS = Math.max(60_000, LINES / 5);
const quiet = { info: () => {}, error: () => {} };

let dir: string;
let worker: StandaloneWorker | null = null;

afterEach(async () => {
  await worker?.close();
  worker = null;
  killRunning();
  removeTempDir(dir);
});

describe('standalone worker with FileStreamSource and FileStreamSink', () => {
  it('copies a file through a topic into an identical file, and resumes from the stored offset', { timeout: TIMEOUT_MS * 2 }, async () => {
    dir = makeTempDir('connect');
    const input = join(dir, 'in.txt');
    const output = join(dir, 'out.txt');
    const lines = writeInput(input, LINES);
    const connectors: Record<string, string>[] = [
      { name: 'file-source', 'connector.class': 'FileStreamSource', file: input, topic: 'lines' },
      { name: 'file-sink', 'connector.class': 'org.apache.kafka.connect.file.FileStreamSinkConnector', file: output, topics: 'lines' },
    ];
    worker = await startStandalone({ workerProps: stringConverterProps(dir), connectorProps: connectors, log: quiet });
    await eventually(() => fileLines(output).length >= LINES, { timeoutMs: TIMEOUT_MS, what: `${LINES} lines in the output` });
    expect(readFileSync(output, 'utf8')).toBe(readFileSync(input, 'utf8'));
    expect(worker.herder.connectorStatus('file-source').connector.state).toBe('RUNNING');
    await worker.close();
    worker = null;

    const stored = JSON.parse(readFileSync(join(dir, 'connect.offsets'), 'utf8')) as Record<string, string>;
    expect(stored).toEqual({ [JSON.stringify(['file-source', { filename: input }])]: JSON.stringify({ position: statSync(input).size }) });

    // Restarted on the same offsets and group: nothing is read again.
    worker = await startStandalone({ workerProps: stringConverterProps(dir), connectorProps: connectors, log: quiet });
    await eventually(() => worker!.herder.connectorStatus('file-sink').tasks[0]?.state === 'RUNNING', { what: 'the sink task running again' });
    const offsets = await worker.herder.connectorOffsets('file-sink');
    expect(offsets.offsets).toEqual([{ partition: { kafka_topic: 'lines', kafka_partition: 0 }, offset: { kafka_offset: LINES } }]);
    expect(fileLines(output)).toEqual(lines);
  });

  it('runs against a Kafka-protocol broker named by bootstrap.servers', async () => {
    dir = makeTempDir('connect');
    const broker = new CliProcess(['serve', '--port', '0', '--data-dir', join(dir, 'broker-data'), '--group-initial-rebalance-delay-ms', '0']);
    await broker.waitForStdout((out) => out.includes('listening on'), 'the broker listening');
    const port = Number(/listening on [^:]+:(\d+)/.exec(broker.stdout)![1]);
    const input = join(dir, 'in.txt');
    const output = join(dir, 'out.txt');
    const lines = writeInput(input, 1_000);
    const { 'data.dir': _embedded, ...props } = stringConverterProps(dir);
    worker = await startStandalone({
      workerProps: { ...props, 'bootstrap.servers': `127.0.0.1:${port}` },
      connectorProps: [
        { name: 'file-source', 'connector.class': 'FileStreamSource', file: input, topic: 'remote-lines' },
        { name: 'file-sink', 'connector.class': 'FileStreamSink', file: output, topics: 'remote-lines' },
      ],
      log: quiet,
    });
    await eventually(() => fileLines(output).length >= lines.length, { what: 'the lines through the remote broker' });
    expect(fileLines(output)).toEqual(lines);
    await eventually(async () => (await worker!.herder.connectorOffsets('file-sink')).offsets[0]?.offset.kafka_offset === lines.length, { what: 'the sink offset committed on the broker' });
  });
});
