/**
 * `sluice connect standalone` as a real child process, SIGKILLed while it copies a file through a
 * topic, then started again: every input line reaches the output at least once, in order per
 * line's first appearance, and the source resumes from its stored offset, not from the start:
 * the topic ends with exactly the records written before the kill plus the lines after the
 * stored position. CONNECT_SOAK_LINES sets the size (npm run soak:connect: 1,000,000 lines).
 */
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Sluice } from '../../src/sluice.js';
import { CliProcess, killRunning } from '../cli/run-cli.js';
import { eventually } from '../support/eventually.js';
import { makeTempDir, removeTempDir } from '../support/temp-dir.js';
import { fileLines, inputLine, stringConverterProps, toProperties } from './helpers.js';

const LINES = Number(process.env.CONNECT_SOAK_LINES ?? 20_000);
const TIMEOUT_MS = Math.max(120_000, LINES / 5);

let dir: string;

afterEach(() => {
  killRunning();
  removeTempDir(dir);
});

/** The source's stored byte position; 0 before the first flush wrote the file. */
function storedPosition(offsetsFile: string, input: string): number {
  if (!existsSync(offsetsFile)) return 0;
  const stored = JSON.parse(readFileSync(offsetsFile, 'utf8')) as Record<string, string>;
  const value = stored[JSON.stringify(['file-source', { filename: input }])];
  return value === undefined ? 0 : (JSON.parse(value) as { position: number }).position;
}

async function topicEnd(dataDir: string): Promise<number> {
  const sluice = await Sluice.open({ dataDir, logger: { info: () => {}, warn: () => {} } });
  try {
    const [partition] = await sluice.admin().fetchTopicOffsets('lines');
    return partition!.high;
  } finally {
    await sluice.close();
  }
}

describe('sluice connect standalone, killed and restarted', () => {
  it('delivers every line at least once and resumes the source from its stored offset', { timeout: TIMEOUT_MS * 2 }, async () => {
    dir = makeTempDir('connect-kill');
    const input = join(dir, 'in.txt');
    const output = join(dir, 'out.txt');
    const offsetsFile = join(dir, 'connect.offsets');
    const half = Math.floor(LINES / 2);
    const lines = Array.from({ length: LINES }, (_, i) => inputLine(i));
    writeFileSync(input, `${lines.slice(0, half).join('\n')}\n`);
    writeFileSync(join(dir, 'worker.properties'), toProperties({ ...stringConverterProps(dir), 'offset.flush.interval.ms': '100' }));
    writeFileSync(join(dir, 'source.properties'), toProperties({ name: 'file-source', 'connector.class': 'FileStreamSource', file: input, topic: 'lines', 'batch.size': '500' }));
    writeFileSync(join(dir, 'sink.properties'), toProperties({ name: 'file-sink', 'connector.class': 'FileStreamSink', file: output, topics: 'lines' }));
    const args = ['connect', 'standalone', join(dir, 'worker.properties'), join(dir, 'source.properties'), join(dir, 'sink.properties')];

    const first = new CliProcess(args);
    await first.waitForStdout((out) => out.includes('connect worker listening on'), 'its listening line');
    await eventually(() => storedPosition(offsetsFile, input) > 0 && fileLines(output).length > 0, {
      timeoutMs: TIMEOUT_MS,
      what: 'a stored source offset and sink output',
    });
    // The second half arrives while the worker runs, and the worker dies while copying it.
    appendFileSync(input, `${lines.slice(half).join('\n')}\n`);
    await eventually(() => fileLines(output).length > half, { timeoutMs: TIMEOUT_MS, what: 'the sink writing past the first half' });
    first.child.kill('SIGKILL');
    await first.exited;

    const position = storedPosition(offsetsFile, input);
    const recordsBeforeRestart = await topicEnd(join(dir, 'data'));
    const inputBytes = readFileSync(input);
    expect(position).toBeGreaterThan(0);
    const linesAfterPosition = inputBytes.subarray(position).toString('utf8').split('\n').length - 1;

    const second = new CliProcess(args);
    await second.waitForStdout((out) => out.includes('connect worker listening on'), 'its listening line after the restart');
    await eventually(() => storedPosition(offsetsFile, input) === inputBytes.length, { timeoutMs: TIMEOUT_MS, what: 'the source offset at the end of the file' });
    await eventually(() => new Set(fileLines(output)).size === LINES, { timeoutMs: TIMEOUT_MS, what: 'every line in the output' });
    second.child.kill('SIGTERM');
    const exit = await second.exited;
    expect(exit.stderr).not.toContain('failed');

    expect(await topicEnd(join(dir, 'data'))).toBe(recordsBeforeRestart + linesAfterPosition);
    const seen = new Set<string>();
    const firstAppearances = fileLines(output).filter((line) => !seen.has(line) && seen.add(line) !== undefined);
    expect(firstAppearances).toEqual(lines);
  });
});
