/**
 * A file goes file -> FileStreamSource -> topic -> FileStreamSink -> file through a standalone
 * worker on an embedded broker, and comes out identical; the source's stored offset is the byte
 * length of the file, and a second worker on the same offsets file adds nothing.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startStandalone, type StandaloneWorker } from '../../src/connect/index.js';
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
});
