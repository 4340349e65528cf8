/**
 * SIGKILL loops against an embedding process (fixtures/embedded-producer.mjs: `Sluice.open`, an
 * idempotent and a plain producer sending with acks -1 to every partition at once, reporting
 * each acknowledgement on stdout). The child is killed after a seeded number of new
 * acknowledgements, mid-stream, and the data directory is opened again by the next child, again
 * and again. Afterwards `sluice serve` serves the directory and kcat and kafkajs read every
 * partition back: every acknowledged record at its offset, once, nothing of another shape.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { killRunning, removeDir, tempDir } from '../cli/run-cli.js';
import { eventually, within } from '../support/eventually.js';
import { seededIntBelow } from '../support/prng.js';
import { budgetMs, checkLog, describeReports, figure, SEED, startServe, stopServe, type AckedSend, type TopicToCheck } from './support.js';

const KILLS = figure('EMBEDDED_KILLS', 4, 80);
/** Acknowledged records (across both producers) between an open and the kill, at most. */
const RECORDS_PER_KILL = figure('EMBEDDED_RECORDS_PER_KILL', 2_000, 20_000);
const PARTITIONS = 3;
const RECORDS_PER_SEND = 20;
const FIXTURE = fileURLToPath(new URL('./fixtures/embedded-producer.mjs', import.meta.url));
const VALUE = /^(idem|plain)-r\d+-\d+-\d+$/;

let root: string | undefined;
const children = new Set<ChildProcessWithoutNullStreams>();

afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  killRunning();
  if (root !== undefined) removeDir(root);
});

/** Runs one embedding child until it has reported `records` more acknowledgements, then SIGKILLs it. */
async function runAndKill(dataDir: string, run: number, records: number, acked: AckedSend[]): Promise<number> {
  const child = spawn(process.execPath, [FIXTURE, dataDir, `r${run}`, String(PARTITIONS), String(RECORDS_PER_SEND)]);
  children.add(child);
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  let count = 0;
  createInterface({ input: child.stdout }).on('line', (line) => {
    const [kind, topic, partition, baseOffset, values] = line.split(' ');
    if (kind !== 'ack') return;
    const list = values.split(',');
    acked.push({ topic, partition: Number(partition), baseOffset: Number(baseOffset), values: list });
    count += list.length;
  });
  await eventually(
    async () => {
      if (child.exitCode !== null) throw new Error(`run ${run}: the embedding process exited ${child.exitCode}; stderr: ${stderr}`);
      return count >= records;
    },
    { timeoutMs: 120_000, what: `run ${run}: ${records} acknowledgements` },
  );
  child.kill('SIGKILL');
  const { signal } = await within(exited, { what: `run ${run}: the killed process to exit` });
  children.delete(child);
  expect(signal, `run ${run}: ${stderr}`).toBe('SIGKILL');
  return count;
}

describe('an embedding process killed with SIGKILL while producing with acks -1', () => {
  it(
    `loses, duplicates and corrupts nothing acknowledged through ${KILLS} kills`,
    async () => {
      root = tempDir();
      const dataDir = `${root}/data`;
      const below = seededIntBelow(SEED);
      const acked: AckedSend[] = [];
      let acknowledged = 0;
      for (let run = 0; run < KILLS; run++) acknowledged += await runAndKill(dataDir, run, 1 + below(RECORDS_PER_KILL), acked);

      const { server, port } = await startServe(dataDir);
      const topics: TopicToCheck[] = [
        { name: 'idem', partitions: PARTITIONS, exactlyOnce: true },
        // Every value is sent once (no retries across processes), so no copy is allowed here either.
        { name: 'plain', partitions: PARTITIONS, exactlyOnce: true },
      ];
      const reports = await checkLog(`127.0.0.1:${port}`, topics, acked, (value) => VALUE.test(value));
      console.log(`embedded SIGKILL loop: ${KILLS} kills, ${acknowledged} records acknowledged\n${describeReports('embedded-sigkill', reports)}`);
      await stopServe(server, 'SIGTERM');
      for (const report of reports) {
        expect(report.acknowledged).toBeGreaterThan(0);
        expect({ topic: report.topic, lost: report.lost, duplicated: report.duplicated, corrupted: report.corrupted, unreadable: report.unreadable, problems: report.problems }).toEqual({
          topic: report.topic,
          lost: 0,
          duplicated: 0,
          corrupted: 0,
          unreadable: 0,
          problems: [],
        });
      }
    },
    budgetMs(90_000),
  );
});
