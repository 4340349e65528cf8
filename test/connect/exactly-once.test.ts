/**
 * exactly.once.source.support=enabled: records and source offsets go in one transaction. A
 * `sluice connect standalone` child process is SIGKILLed while its FileStreamSource copies a file,
 * then restarted: a read_committed reader of the topic sees every line exactly once, in order.
 * Also: the offsets live in connect-offsets and the preflight check of exactly.once.support=required.
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startStandalone, type StandaloneWorker } from '../../src/connect/index.js';
import { Sluice } from '../../src/sluice.js';
import { CliProcess, killRunning } from '../cli/run-cli.js';
import { eventually } from '../support/eventually.js';
import { makeTempDir, removeTempDir } from '../support/temp-dir.js';
import { inputLine, stringConverterProps, toProperties, writeInput } from './helpers.js';

const LINES = Number(process.env.CONNECT_SOAK_LINES ?? 20_000);
const TIMEOUT_MS = Math.max(120_000, LINES / 5);
const quiet = { info: () => {}, error: () => {} };

let dir: string;
let worker: StandaloneWorker | null = null;

afterEach(async () => {
  killRunning();
  await worker?.close();
  worker = null;
  removeTempDir(dir);
});

function eosWorkerProps(dir: string): Record<string, string> {
  const { 'offset.storage.file.filename': _file, ...props } = stringConverterProps(dir);
  return { ...props, 'exactly.once.source.support': 'enabled', 'offset.storage.partitions': '3' };
}

/** The committed values of the topic, from its start to a marker written now: everything a read_committed reader sees. */
async function committedValues(dataDir: string, topic: string): Promise<string[]> {
  const sluice = await Sluice.open({ dataDir, logger: { info: () => {}, warn: () => {} } });
  try {
    const producer = sluice.producer();
    await producer.send({ topic, messages: [{ key: 'end-marker', value: 'end-marker' }] });
    const consumer = sluice.consumer({ isolationLevel: 'read_committed' });
    const values: string[] = [];
    let ended = false;
    await consumer.connect();
    consumer.assign([{ topic, partition: 0, offset: 0 }]);
    await consumer.run({
      eachMessage: ({ message }) => {
        if (message.key?.toString() === 'end-marker') ended = true;
        else if (!ended) values.push(message.value!.toString());
      },
    });
    await eventually(() => ended, { timeoutMs: TIMEOUT_MS, what: 'the end marker of the topic' });
    await consumer.disconnect();
    return values;
  } finally {
    await sluice.close();
  }
}

async function sourcePosition(url: string): Promise<number> {
  const body = (await (await fetch(`${url}/connectors/file-source/offsets`)).json()) as { offsets: { offset: { position: number } }[] };
  return body.offsets[0]?.offset.position ?? 0;
}

describe('exactly-once source support', () => {
  it('keeps source offsets in connect-offsets, and checks exactly.once.support=required', async () => {
    dir = makeTempDir('connect-eos');
    const input = join(dir, 'in.txt');
    writeInput(input, 10);
    worker = await startStandalone({ workerProps: eosWorkerProps(dir), log: quiet });
    const refused = worker.herder.validate({ 'connector.class': 'FileStreamSource', name: 'stdin', topic: 't', 'exactly.once.support': 'required' });
    expect(refused.configs.find((config) => config.value.name === 'exactly.once.support')!.value.errors).toEqual([
      'The connector does not support exactly-once semantics with the provided configuration.',
    ]);
    await worker.herder.putConnectorConfig('file-source', { 'connector.class': 'FileStreamSource', file: input, topic: 'lines', 'exactly.once.support': 'required' }, false);
    const size = readFileSync(input).length;
    await eventually(async () => (await worker!.herder.connectorOffsets('file-source')).offsets[0]?.offset.position === size, { what: 'the offset of the whole file' });
    await worker.close();
    worker = null;
    // A new worker reads the offset back from the topic and writes nothing again.
    worker = await startStandalone({ workerProps: eosWorkerProps(dir), connectorProps: [{ name: 'file-source', 'connector.class': 'FileStreamSource', file: input, topic: 'lines' }], log: quiet });
    await eventually(() => worker!.herder.connectorStatus('file-source').tasks[0]?.state === 'RUNNING', { what: 'the source task running again' });
    await eventually(async () => (await worker!.herder.connectorOffsets('file-source')).offsets.length === 1, { what: 'the offset read back from connect-offsets' });
    await worker.close();
    worker = null;
    expect(await committedValues(join(dir, 'data'), 'lines')).toEqual(Array.from({ length: 10 }, (_, i) => inputLine(i)));
  });

  it('writes every line exactly once through a SIGKILL and a restart', { timeout: TIMEOUT_MS * 2 }, async () => {
    dir = makeTempDir('connect-eos-kill');
    const input = join(dir, 'in.txt');
    const half = Math.floor(LINES / 2);
    const lines = Array.from({ length: LINES }, (_, i) => inputLine(i));
    writeFileSync(input, `${lines.slice(0, half).join('\n')}\n`);
    writeFileSync(join(dir, 'worker.properties'), toProperties(eosWorkerProps(dir)));
    writeFileSync(join(dir, 'source.properties'), toProperties({ name: 'file-source', 'connector.class': 'FileStreamSource', file: input, topic: 'lines', 'batch.size': '100' }));
    const args = ['connect', 'standalone', join(dir, 'worker.properties'), join(dir, 'source.properties')];

    const first = new CliProcess(args);
    await first.waitForStdout((out) => out.includes('listening on'), 'its listening line');
    const firstUrl = /listening on (\S+)/.exec(first.stdout)![1]!;
    await eventually(async () => (await sourcePosition(firstUrl)) > 0, { timeoutMs: TIMEOUT_MS, what: 'a committed source offset' });
    appendFileSync(input, `${lines.slice(half).join('\n')}\n`);
    const halfBytes = Buffer.byteLength(`${lines.slice(0, half).join('\n')}\n`);
    await eventually(async () => (await sourcePosition(firstUrl)) > halfBytes, { timeoutMs: TIMEOUT_MS, what: 'the source reading the second half' });
    first.child.kill('SIGKILL');
    await first.exited;

    const second = new CliProcess(args);
    await second.waitForStdout((out) => out.includes('listening on'), 'its listening line after the restart');
    const secondUrl = /listening on (\S+)/.exec(second.stdout)![1]!;
    const size = readFileSync(input).length;
    await eventually(async () => (await sourcePosition(secondUrl)) === size, { timeoutMs: TIMEOUT_MS, what: 'the offset of the whole file after the restart' });
    second.child.kill('SIGTERM');
    await second.exited;

    expect(await committedValues(join(dir, 'data'), 'lines')).toEqual(lines);
  });
});
