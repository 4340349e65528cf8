/**
 * Progress of long commands: the line's content (rate, share, time left), that it is drawn only on
 * a terminal, and, through a real pseudo-terminal (util-linux `script`), that `sluice consume` and
 * `sluice produce` draw it on stderr while their data goes to a file, and print nothing of it on a pipe.
 */
import { execFile, spawn } from 'node:child_process';
import { closeSync, constants, createWriteStream, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { createProgress, formatDuration, formatProgressLine } from '../../src/perf/progress.js';
import { regularFileBytes } from '../../src/cli/commands/produce.js';
import { eventually } from '../support/eventually.js';
import { CLI, killRunning, lines, removeDir, runCli, tempDir } from './run-cli.js';

const execFileAsync = promisify(execFile);

/** A stream that says it is a terminal and keeps what is written to it. */
function terminalStream(): { stream: NodeJS.WriteStream; written: () => string } {
  const stream = new PassThrough() as unknown as NodeJS.WriteStream & PassThrough;
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
  Object.assign(stream, { isTTY: true, columns: 200 });
  return { stream, written: () => text };
}

/** Runs `command` under a pseudo-terminal: what the pty shows (stdout and stderr of the command). */
async function underTerminal(command: string): Promise<string> {
  const { stdout } = await execFileAsync('script', ['-qfec', command, '/dev/null'], { maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

function shellQuote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}

describe('the progress line', () => {
  it('shows the share, the count, the rate and the time left when the total is known', () => {
    expect(formatProgressLine({ label: 'consume t', unit: 'records', done: 250_000, total: 1_000_000, records: 250_000, elapsedMs: 2_000 })).toBe(
      'consume t [#####---------------] 25% | 250,000/1,000,000 records | 125,000 records/s | ETA 6s',
    );
  });

  it('counts input bytes for the share and the MB/s, and records apart, for a file being produced', () => {
    expect(formatProgressLine({ label: 'produce t', unit: 'bytes', done: 50e6, total: 200e6, records: 400_000, elapsedMs: 10_000 })).toBe(
      'produce t [#####---------------] 25% | 400,000 records | 40,000 records/s | 5.0 MB/s | ETA 30s',
    );
  });

  it('shows the rate and the time so far when the total cannot be known (input from a pipe)', () => {
    expect(formatProgressLine({ label: 'produce t', unit: 'bytes', done: 3e6, total: null, records: 30_000, elapsedMs: 1_500 })).toBe(
      'produce t | 30,000 records | 20,000 records/s | 2.0 MB/s | 2s elapsed',
    );
  });

  it('says ETA 0s once done, and never divides by an empty interval', () => {
    expect(formatProgressLine({ label: 'x', unit: 'records', done: 10, total: 10, records: 10, elapsedMs: 5_000 })).toContain('100% | 10/10 records | 2 records/s | ETA 0s');
    expect(formatProgressLine({ label: 'x', unit: 'records', done: 0, total: 10, records: 0, elapsedMs: 0 })).toBe(
      'x [--------------------] 0% | 0/10 records | - records/s | ETA -',
    );
  });

  it('writes durations as a person reads them', () => {
    expect([formatDuration(0.2), formatDuration(59), formatDuration(61), formatDuration(3_599), formatDuration(7_500)]).toEqual(['1s', '59s', '1m01s', '59m59s', '2h05m']);
  });

  it('is drawn on a terminal once the delay has passed, and erased when stopped', async () => {
    const { stream, written } = terminalStream();
    const progress = createProgress('perf produce', { unit: 'records', total: 1_000, stream, delayMs: 0 });
    progress.update(400);
    await eventually(() => written().includes('400/1,000 records'), { what: 'the progress line on the terminal' });
    expect(written()).toMatch(/perf produce \[########-+\] 40% \| 400\/1,000 records \| [\d,]+ records\/s \| ETA \d/);
    progress.stop();
    // clearOnComplete: the line is cleared (erase-line sequence) when the run ends.
    expect(written()).toContain('\x1B[2K');
  });

  it('writes nothing to a stream that is not a terminal', async () => {
    const stream = new PassThrough() as unknown as NodeJS.WriteStream & PassThrough;
    let text = '';
    stream.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    const progress = createProgress('perf produce', { unit: 'records', total: 1_000, stream, delayMs: 0 });
    progress.update(400);
    // A terminal stream with the same delay is drawn: once it is, the pipe has had its chance too.
    const { stream: terminal, written } = terminalStream();
    const control = createProgress('control', { unit: 'records', total: 1_000, stream: terminal, delayMs: 0 });
    control.update(1);
    await eventually(() => written().includes('1/1,000 records'), { what: 'the control line' });
    control.stop();
    progress.stop();
    expect(text).toBe('');
  });
});

describe('progress of the CLI commands', () => {
  let dir: string | undefined;
  afterEach(() => {
    killRunning();
    if (dir !== undefined) removeDir(dir);
    dir = undefined;
  });

  it('consume with --max-messages draws the share and the time left on a terminal while records go to a file', async () => {
    dir = tempDir();
    const dataDir = join(dir, 'data');
    const input = Array.from({ length: 500 }, (_, i) => `line-${i}`).join('\n') + '\n';
    expect((await runCli(['produce', 'lines', '--data-dir', dataDir], { input })).code).toBe(0);
    const out = join(dir, 'out.txt');
    // 1,000 asked, 500 there: the command waits out --timeout-ms (2 s), past the line's 1 s delay.
    const shown = await underTerminal(
      `${shellQuote(process.execPath)} ${shellQuote(CLI)} consume lines --data-dir ${shellQuote(dataDir)} --from-beginning ` +
        `--max-messages 1000 --timeout-ms 2000 > ${shellQuote(out)}`,
    );
    expect(shown).toMatch(/consume lines \[##########-+\] 50% \| 500\/1,000 records \| [\d,]+ records\/s \| ETA/);
    expect(shown).toContain('consumed 500 records');
    expect(lines(readFileSync(out, 'utf8'))).toHaveLength(500);
  });

  it('produce from a pipe draws the records sent, the rate and the time so far on a terminal', async () => {
    dir = tempDir();
    const dataDir = join(dir, 'data');
    const fifo = join(dir, 'lines.fifo');
    await execFileAsync('mkfifo', [fifo]);
    const terminal = spawn('script', ['-qfec', `${shellQuote(process.execPath)} ${shellQuote(CLI)} produce lines --data-dir ${shellQuote(dataDir)} < ${shellQuote(fifo)}`, '/dev/null']);
    let shown = '';
    terminal.stdout.on('data', (chunk: Buffer) => (shown += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => terminal.on('close', resolve));
    try {
      // The input stays open until the line is on the terminal: the run lasts as long as it takes.
      const input = createWriteStream(fifo);
      input.write(Array.from({ length: 1_000 }, (_, i) => `record-${i}`).join('\n') + '\n');
      await eventually(() => /produce lines \| 1,000 records \| [\d,]+ records\/s \| [\d.]+ MB\/s \| \d+s elapsed/.test(shown), {
        what: 'the progress line of a pipe fed produce',
        timeoutMs: 30_000,
      });
      input.end();
      expect(await exited).toBe(0);
      expect(shown).toContain('produced 1000 records');
    } finally {
      terminal.kill('SIGKILL');
    }
  });

  it('knows the size of a file on stdin, and not of a pipe', async () => {
    dir = tempDir();
    const file = join(dir, 'in.txt');
    writeFileSync(file, 'a\nb\n');
    const fd = openSync(file, 'r');
    try {
      expect(regularFileBytes(fd)).toBe(4);
    } finally {
      closeSync(fd);
    }
    const fifo = join(dir, 'pipe.fifo');
    await execFileAsync('mkfifo', [fifo]);
    // Non-blocking: a FIFO opened for reading without a writer would wait for one.
    const pipeFd = openSync(fifo, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      expect(regularFileBytes(pipeFd)).toBeNull();
    } finally {
      closeSync(pipeFd);
    }
  });

  it('prints no progress when stderr is a pipe', async () => {
    dir = tempDir();
    const dataDir = join(dir, 'data');
    const input = Array.from({ length: 100 }, (_, i) => `x-${i}`).join('\n') + '\n';
    const produced = await runCli(['produce', 'lines', '--data-dir', dataDir], { input });
    expect(produced.code).toBe(0);
    const consumed = await runCli(['consume', 'lines', '--data-dir', dataDir, '--from-beginning', '--max-messages', '1000', '--timeout-ms', '1500']);
    expect(consumed.code).toBe(0);
    expect(lines(consumed.stdout)).toHaveLength(100);
    expect(consumed.stderr).not.toContain('records/s');
    expect(produced.stderr).not.toMatch(/\[#*-*\]/);
  });
});
