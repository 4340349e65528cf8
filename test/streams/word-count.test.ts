/**
 * Word count (examples/word-count.ts) against a reference count computed directly from the input,
 * with exactly_once_v2: in process, and across a SIGKILL of the application's process mid-run; with
 * one stream thread and with two (numStreamThreads 2: two members of the group, two transactional
 * producers, the tasks split between them).
 * Exact means more than the final counts: every word's count updates in the output are
 * 1, 2, ..., n with none repeated or missing, so no record was counted twice or lost (the record
 * cache is off for that, as in Kafka's own tests: it would write only the last count of each commit).
 * STREAMS_SOAK_WORDS sets the input size (`npm run soak:streams` runs 1,000,000 words).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { APPLICATION_ID, INPUT_TOPIC, OUTPUT_TOPIC, countUntilDone } from '../../examples/word-count.js';
import { Sluice } from '../../src/sluice.js';
import { Serdes, type ThreadMetadata } from '../../src/streams/index.js';
import { within } from '../support/eventually.js';
import { seededIntBelow } from '../support/prng.js';
import { makeTempDir, removeTempDir } from '../support/temp-dir.js';
import { createTopic, produce, readAll } from './support.js';

const WORDS = Number(process.env.STREAMS_SOAK_WORDS ?? 50_000);
const WORDS_PER_LINE = 10;
const VOCABULARY = 1_000;
const PARTITIONS = 4;
const SCRIPT = fileURLToPath(new URL('../../dist/examples/word-count.js', import.meta.url));
const TIMEOUT_MS = Math.max(120_000, WORDS / 5);

function makeLines(): string[] {
  const below = seededIntBelow(13);
  const lines: string[] = [];
  for (let i = 0; i < WORDS; i += WORDS_PER_LINE) {
    // Skewed towards low word numbers, as text is: some words are far more frequent than others.
    lines.push(Array.from({ length: Math.min(WORDS_PER_LINE, WORDS - i) }, () => `w${below(below(VOCABULARY) + 1)}`).join(' '));
  }
  return lines;
}

function referenceCount(lines: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const line of lines) for (const word of line.split(' ')) counts.set(word, (counts.get(word) ?? 0) + 1);
  return counts;
}

/** Each word's output values in order must be exactly 1..n, with n its reference count. */
async function checkOutput(sluice: Sluice, expected: Map<string, number>): Promise<void> {
  const long = Serdes.Long();
  const updates = new Map<string, number[]>();
  for (const record of await readAll(sluice, OUTPUT_TOPIC)) {
    const word = record.key!.toString('utf8');
    let list = updates.get(word);
    if (list === undefined) updates.set(word, (list = []));
    list.push(long.deserialize(record.value!));
  }
  expect(updates.size).toBe(expected.size);
  const wrong: string[] = [];
  for (const [word, count] of expected) {
    const seen = updates.get(word) ?? [];
    if (seen.length !== count || seen.some((value, i) => value !== i + 1)) wrong.push(`${word}: expected 1..${count}, got ${seen.length} updates ending ${seen.slice(-3).join(',')}`);
  }
  expect(wrong.slice(0, 5)).toEqual([]);
}

/** The group's committed offset of every input partition is its end (an empty partition has none: -1). */
async function expectInputCommitted(sluice: Sluice): Promise<void> {
  const [committed] = await sluice.admin().fetchOffsets({ groupId: APPLICATION_ID, topics: [INPUT_TOPIC] });
  const ends = committed.partitions.map(({ partition }) => sluice.broker.partitionOffsets(INPUT_TOPIC, partition).highWatermark);
  expect(committed.partitions.map(({ offset }) => Math.max(offset, 0))).toEqual(ends);
  expect(ends.reduce((sum, end) => sum + end, 0)).toBe(Math.ceil(WORDS / WORDS_PER_LINE));
}

async function writeInput(sluice: Sluice, lines: string[]): Promise<void> {
  await createTopic(sluice, INPUT_TOPIC, PARTITIONS);
  await createTopic(sluice, OUTPUT_TOPIC, PARTITIONS);
  await produce(sluice, INPUT_TOPIC, lines.map((value) => ({ key: null, value })));
}

describe('word count, exactly_once_v2', () => {
  const dirs: string[] = [];
  const children: ChildProcess[] = [];
  let sluice: Sluice | null = null;
  afterEach(async () => {
    for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await sluice?.close();
    sluice = null;
    for (const dir of dirs.splice(0)) removeTempDir(dir);
  });

  /** A new broker with the input written, and a state directory. */
  async function openWithInput(): Promise<{ stateDir: string; lines: string[] }> {
    const dataDir = makeTempDir('streams-wc-data');
    const stateDir = makeTempDir('streams-wc-state');
    dirs.push(dataDir, stateDir);
    sluice = await Sluice.open({ dataDir, groupInitialRebalanceDelayMs: 0 });
    const lines = makeLines();
    await writeInput(sluice, lines);
    return { stateDir, lines };
  }

  it(`counts ${WORDS} words exactly as a direct count of the input`, { timeout: TIMEOUT_MS }, async () => {
    const { stateDir, lines } = await openWithInput();
    await countUntilDone(sluice!, stateDir, 'exactly_once_v2', WORDS, () => undefined, () => undefined, 'persistent', 1, 0);
    await checkOutput(sluice!, referenceCount(lines));
  });

  it('numStreamThreads 2 splits the tasks between two threads of one instance, counts exact', { timeout: TIMEOUT_MS }, async () => {
    const { stateDir, lines } = await openWithInput();
    let threads: ThreadMetadata[] = [];
    await countUntilDone(sluice!, stateDir, 'exactly_once_v2', WORDS, () => undefined, (streams) => (threads = streams.metadataForLocalThreads()), 'persistent', 2, 0);
    await checkOutput(sluice!, referenceCount(lines));
    // Two threads, each with its own transactional producer and a share of the 8 tasks (2
    // sub-topologies x 4 partitions), no task on both.
    expect(threads.map((thread) => thread.transactionalId)).toEqual([1, 2].map((n) => expect.stringMatching(new RegExp(`^${APPLICATION_ID}-[0-9a-f-]{36}-StreamThread-${n}$`))));
    expect(threads.map((thread) => thread.threadName)).toEqual(threads.map((thread) => thread.transactionalId));
    const tasks = threads.map((thread) => thread.activeTasks.map((task) => task.taskId));
    expect(tasks.every((ids) => ids.length > 0)).toBe(true);
    expect([...tasks[0], ...tasks[1]].sort()).toEqual(['0_0', '0_1', '0_2', '0_3', '1_0', '1_1', '1_2', '1_3']);
    await expectInputCommitted(sluice!);
  });

  it.each([1, 2])('stays exact across a SIGKILL of the application mid-run, %i stream thread(s)', { timeout: TIMEOUT_MS * 2 }, async (threads) => {
    const dataDir = makeTempDir('streams-wc-data');
    const stateDir = makeTempDir('streams-wc-state');
    dirs.push(dataDir, stateDir);
    const lines = makeLines();
    // The first run sees only the first third of the input, so it cannot reach the end (and print
    // 'done') before the kill lands, however fast the machine; the rest is written after the kill.
    const firstPart = Math.floor(lines.length / 3);
    sluice = await Sluice.open({ dataDir });
    await writeInput(sluice, lines.slice(0, firstPart));
    await sluice.close();
    sluice = null;

    const run = (killAtWords: number | null) =>
      new Promise<{ progress: number; done: boolean; code: number | null; signal: string | null }>((resolve, reject) => {
        const child = spawn(process.execPath, [SCRIPT, '--data-dir', dataDir, '--state-dir', stateDir, '--words', String(WORDS), '--threads', String(threads), '--cache-bytes', '0'], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        children.push(child);
        let progress = 0;
        let done = false;
        let stderr = '';
        let pending = '';
        child.stdout!.on('data', (chunk: Buffer) => {
          pending += chunk.toString();
          const lines = pending.split('\n');
          pending = lines.pop()!;
          for (const line of lines) {
            if (line === 'done') done = true;
            const match = /^progress (\d+)$/.exec(line);
            if (match !== null) progress = Number(match[1]);
            if (killAtWords !== null && progress >= killAtWords && !done) child.kill('SIGKILL');
          }
        });
        child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        child.on('error', reject);
        child.on('exit', (code, signal) => {
          if (killAtWords === null && code !== 0) reject(new Error(`word count exited ${code}: ${stderr}`));
          resolve({ progress, done, code, signal });
        });
      });

    const killed = await within(run(Math.floor((firstPart * WORDS_PER_LINE) / 2)), { timeoutMs: TIMEOUT_MS, what: 'the first run, killed a sixth of the way' });
    expect(killed.signal).toBe('SIGKILL');
    expect(killed.done).toBe(false);
    sluice = await Sluice.open({ dataDir });
    await produce(sluice, INPUT_TOPIC, lines.slice(firstPart).map((value) => ({ key: null, value })));
    await sluice.close();
    sluice = null;
    const finished = await within(run(null), { timeoutMs: TIMEOUT_MS, what: 'the second run, to the end' });
    expect(finished.done).toBe(true);

    sluice = await Sluice.open({ dataDir });
    await checkOutput(sluice, referenceCount(lines));
    // The killed run's open transaction was aborted, not committed: the group's offsets moved on only with committed output.
    await expectInputCommitted(sluice);
  });
});
