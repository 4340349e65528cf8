import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createInterface } from 'node:readline';
import ts from 'typescript';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  CorruptFileError,
  DataDirLockedError,
  InvalidConfigError,
  LockTakeoverInterruptedError,
} from '../../src/errors.js';
import {
  DataDir,
  LOCK_FILE_NAME,
  META_DIR_NAME,
  TAKEOVER_FILE_NAME,
  parsePartitionDirName,
  partitionDirName,
  takeOverStaleLock,
} from '../../src/storage/data-dir.js';
import { eventually } from '../support/eventually.js';
import { SPACE_RESERVE_FILE_NAME } from '../../src/storage/space-reserve.js';

const repoRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const tempDirs: string[] = [];
const children: ChildProcessWithoutNullStreams[] = [];

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-data-dir-'));
  tempDirs.push(dir);
  return dir;
}

function recordingLogger(): { warnings: string[]; warn(message: string): void } {
  const warnings: string[] = [];
  return { warnings, warn: (message: string) => warnings.push(message) };
}

/** A pid that existed a moment ago and no longer does. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', '0']);
  return child.pid;
}

function lockFileOf(dir: string): string {
  return path.join(fs.realpathSync(dir), LOCK_FILE_NAME);
}

function readLockJson(dir: string): Record<string, unknown> {
  return JSON.parse(fs.readFileSync(lockFileOf(dir), 'utf8')) as Record<string, unknown>;
}

/** Rewrites fields of the lock a DataDir wrote, as another holder's lock would read. */
function plantLock(dir: string, fields: Record<string, unknown>): void {
  const probe = DataDir.open(dir);
  const lock = readLockJson(dir);
  probe.close();
  fs.writeFileSync(lockFileOf(dir), JSON.stringify({ ...lock, nonce: 'planted', ...fields }));
}

// Other processes open data directories through the current source, transpiled: Node 20 cannot
// load TypeScript, and the race and crash tests need real processes.
let childScript = '';

beforeAll(() => {
  const out = tempDir();
  for (const rel of ['src/errors.ts', 'src/validate.ts', 'src/storage/durable-fs.ts', 'src/storage/space-reserve.ts', 'src/storage/data-dir.ts']) {
    const source = fs.readFileSync(path.join(repoRoot, rel), 'utf8');
    const js = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    const target = path.join(out, rel.replace(/\.ts$/, '.js'));
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, js);
  }
  fs.writeFileSync(path.join(out, 'package.json'), '{"type":"module"}');
  childScript = path.join(out, 'opener.js');
  // Protocol: prints "ready" once loaded; "hold" then opens at once, "race" on its first stdin
  // line. The outcome follows ("won", "locked <pid>", "error <name> <message>"); a winner keeps the
  // directory until stdin ends.
  fs.writeFileSync(
    childScript,
    `import { DataDir } from './src/storage/data-dir.js';
import { createInterface } from 'node:readline';
const [dir, mode] = process.argv.slice(2);
const lines = createInterface({ input: process.stdin });
let held;
function attempt() {
  try { held = DataDir.open(dir, { lockWaitMs: 5000 }); console.log('won'); }
  catch (err) { console.log(err.name === 'DataDirLockedError' ? 'locked ' + err.pid : 'error ' + err.name + ' ' + err.message); }
}
lines.once('line', () => { if (mode === 'race') attempt(); });
lines.once('close', () => { held?.close(); process.exit(0); });
console.log('ready');
if (mode === 'hold') attempt();
`,
  );
});

afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

afterAll(() => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

interface Opener {
  child: ChildProcessWithoutNullStreams;
  nextLine(): Promise<string>;
}

/** Starts a process that opens `dir` through the transpiled module; resolves once it is ready. */
async function startOpener(dir: string, mode: 'hold' | 'race'): Promise<Opener> {
  const child = spawn(process.execPath, [childScript, dir, mode]);
  children.push(child);
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const nextLine = async (): Promise<string> => {
    const { value, done } = await lines.next();
    if (done) throw new Error(`opener ${child.pid} exited without answering`);
    return value as string;
  };
  expect(await nextLine()).toBe('ready');
  return { child, nextLine };
}

function openError(dir: string, options?: Parameters<typeof DataDir.open>[1]): unknown {
  try {
    DataDir.open(dir, options).close();
  } catch (err) {
    return err;
  }
  throw new Error(`DataDir.open(${dir}) succeeded`);
}

function exited(child: ChildProcessWithoutNullStreams): Promise<void> {
  return new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
}

describe('DataDir.open and close', () => {
  it('creates a missing directory, writes a lock naming this process, and removes it on close', () => {
    const dir = path.join(tempDir(), 'nested', 'data');
    const dataDir = DataDir.open(dir);
    expect(dataDir.path).toBe(fs.realpathSync(dir));
    expect(readLockJson(dir)).toMatchObject({ version: 1, pid: process.pid, hostname: os.hostname() });
    dataDir.close();
    expect(fs.existsSync(lockFileOf(dir))).toBe(false);
    dataDir.close(); // idempotent
    DataDir.open(dir).close(); // free again
  });

  it('refuses a second open by the same process, pointing at --bootstrap-server', () => {
    const dir = tempDir();
    const first = DataDir.open(dir);
    const err = openError(dir);
    first.close();
    expect(err).toBeInstanceOf(DataDirLockedError);
    expect((err as DataDirLockedError).pid).toBe(process.pid);
    expect((err as Error).message).toContain('--bootstrap-server');
  });

  it('refuses a directory held by a live process, and takes it over once that process has crashed', async () => {
    const dir = tempDir();
    const holder = await startOpener(dir, 'hold');
    expect(await holder.nextLine()).toBe('won');
    const err = openError(dir);
    expect(err).toBeInstanceOf(DataDirLockedError);
    expect((err as DataDirLockedError).pid).toBe(holder.child.pid);

    holder.child.kill('SIGKILL');
    await exited(holder.child);
    expect(fs.existsSync(lockFileOf(dir))).toBe(true); // a crash leaves the lock behind
    const logger = recordingLogger();
    const dataDir = DataDir.open(dir, { logger });
    expect(readLockJson(dir).pid).toBe(process.pid);
    expect(logger.warnings).toHaveLength(1);
    expect(logger.warnings[0]).toContain('stale lock');
    expect(logger.warnings[0]).toContain(`process ${holder.child.pid}`);
    dataDir.close();
  });

  it('takes over a lock whose pid is dead, without a takeover file left behind', () => {
    const dir = tempDir();
    plantLock(dir, { pid: deadPid() });
    const logger = recordingLogger();
    DataDir.open(dir, { logger }).close();
    expect(logger.warnings).toHaveLength(1);
    // Only the space reserve, which the holder writes while the file system has room.
    expect(fs.readdirSync(dir)).toEqual([SPACE_RESERVE_FILE_NAME]);
  });

  it('takes over a lock whose pid now belongs to another process (pid reuse) where start times are known', () => {
    const dir = tempDir();
    plantLock(dir, { pid: process.ppid, startTicks: 1 });
    const startTimesKnown = fs.existsSync(`/proc/${process.ppid}/stat`);
    if (startTimesKnown) {
      DataDir.open(dir).close();
    } else {
      expect(() => DataDir.open(dir)).toThrow(DataDirLockedError);
    }
  });

  it('takes over a lock from before a reboot of this machine where boot ids are known', () => {
    const dir = tempDir();
    plantLock(dir, { bootId: 'boot-before-the-last-reboot' }); // otherwise this very process
    if (fs.existsSync('/proc/sys/kernel/random/boot_id')) {
      DataDir.open(dir).close();
    } else {
      expect(openError(dir)).toBeInstanceOf(DataDirLockedError);
    }
  });

  it('trusts the heartbeat for a holder on another host: fresh means held, untouched for lockStaleMs means stale', () => {
    const dir = tempDir();
    plantLock(dir, { hostname: 'another-host', pid: 1 });
    expect(() => DataDir.open(dir, { lockStaleMs: 60_000 })).toThrow(DataDirLockedError);
    const longAgo = new Date(Date.now() - 120_000);
    fs.utimesSync(lockFileOf(dir), longAgo, longAgo);
    const logger = recordingLogger();
    DataDir.open(dir, { lockStaleMs: 60_000, logger }).close();
    expect(logger.warnings[0]).toContain('another-host');
  });

  it('treats a holder in another pid namespace like one on another host', () => {
    const dir = tempDir();
    plantLock(dir, { pid: deadPid(), pidNamespace: 'pid:[1]' });
    if (fs.existsSync('/proc/self/ns/pid')) {
      // The pid is dead here, but pids mean nothing across namespaces: the fresh heartbeat wins.
      expect(openError(dir)).toBeInstanceOf(DataDirLockedError);
    } else {
      DataDir.open(dir).close();
    }
  });

  it('keeps touching the lock file while open, so remote openers see it alive', async () => {
    const dir = tempDir();
    const dataDir = DataDir.open(dir, { lockHeartbeatMs: 10, lockStaleMs: 30 });
    const longAgo = new Date(Date.now() - 3_600_000);
    fs.utimesSync(lockFileOf(dir), longAgo, longAgo);
    const touchedRecently = (): boolean => fs.statSync(lockFileOf(dir)).mtimeMs > Date.now() - 60_000;
    expect(touchedRecently()).toBe(false);
    await eventually(touchedRecently, { what: 'the lock file touched by its heartbeat' });
    dataDir.close();
  });

  it('does not delete a lock that another process took over in the meantime', () => {
    const dir = tempDir();
    const logger = recordingLogger();
    const dataDir = DataDir.open(dir, { logger });
    const theirs = JSON.stringify({ ...readLockJson(dir), nonce: 'someone-else' });
    fs.writeFileSync(lockFileOf(dir), theirs);
    dataDir.close();
    expect(fs.readFileSync(lockFileOf(dir), 'utf8')).toBe(theirs);
    expect(logger.warnings[0]).toContain('no longer');
  });

  it('reports a lock file that is not a lock as a CorruptFileError naming it', () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, LOCK_FILE_NAME), 'not json');
    expect(() => DataDir.open(dir)).toThrow(CorruptFileError);
    expect(() => DataDir.open(dir)).toThrow(path.join(fs.realpathSync(dir), LOCK_FILE_NAME));
  });

  it('stops at a takeover file abandoned by a dead process, asking for it to be deleted', () => {
    const dir = tempDir();
    plantLock(dir, { pid: deadPid() });
    const stale = readLockJson(dir);
    const pid = deadPid();
    fs.writeFileSync(path.join(dir, TAKEOVER_FILE_NAME), JSON.stringify({ ...stale, pid, nonce: 'guard' }));
    expect(() => DataDir.open(dir)).toThrow(LockTakeoverInterruptedError);
    expect(() => DataDir.open(dir)).toThrow(`left by process ${pid}`);
    fs.unlinkSync(path.join(dir, TAKEOVER_FILE_NAME));
    DataDir.open(dir).close();
  });

  it('waits lockWaitMs for a live takeover in progress, then names its process', () => {
    const dir = tempDir();
    plantLock(dir, { pid: deadPid() });
    // A takeover file of this very process: alive, and never going away during the call.
    const guard = { ...readLockJson(dir), pid: process.pid, nonce: 'guard' };
    fs.writeFileSync(path.join(dir, TAKEOVER_FILE_NAME), JSON.stringify(guard));
    const err = openError(dir, { lockWaitMs: 30 });
    expect(err).toBeInstanceOf(DataDirLockedError);
    expect((err as DataDirLockedError).pid).toBe(process.pid);
  });

  it('does not replace a lock that another opener took over after it was read as stale', () => {
    const dir = tempDir();
    plantLock(dir, { pid: deadPid() });
    const staleText = fs.readFileSync(lockFileOf(dir), 'utf8');
    const winner = DataDir.open(dir); // replaces the stale lock first
    const winnerLock = fs.readFileSync(lockFileOf(dir), 'utf8');
    expect(takeOverStaleLock(winner.path, staleText)).toBe(false);
    expect(fs.readFileSync(lockFileOf(dir), 'utf8')).toBe(winnerLock);
    expect(fs.existsSync(path.join(dir, TAKEOVER_FILE_NAME))).toBe(false);
    winner.close();
  });

  it.each([
    ['with no lock', false],
    ['over a stale lock', true],
  ])('lets exactly one of several processes racing to open win (%s)', async (_, stale) => {
    const dir = tempDir();
    if (stale) plantLock(dir, { pid: deadPid() });
    const openers = await Promise.all(Array.from({ length: 4 }, () => startOpener(dir, 'race')));
    for (const { child } of openers) child.stdin.write('go\n');
    const outcomes = await Promise.all(openers.map((o) => o.nextLine()));
    const winners = openers.filter((_, i) => outcomes[i] === 'won');
    expect(winners).toHaveLength(1);
    const winnerPid = winners[0].child.pid;
    for (const outcome of outcomes.filter((o) => o !== 'won')) expect(outcome).toBe(`locked ${winnerPid}`);
    for (const { child } of openers) child.stdin.end();
    await Promise.all(openers.map(({ child }) => exited(child)));
    expect(fs.existsSync(lockFileOf(dir))).toBe(false);
  });
});

describe('DataDir.open path checks', () => {
  it('rejects a path that is a file', () => {
    const file = path.join(tempDir(), 'file');
    fs.writeFileSync(file, '');
    expect(() => DataDir.open(file)).toThrow(InvalidConfigError);
    expect(() => DataDir.open(file)).toThrow(`"${file}" exists and is not a directory`);
  });

  it('rejects a path below a file', () => {
    const file = path.join(tempDir(), 'file');
    fs.writeFileSync(file, '');
    expect(() => DataDir.open(path.join(file, 'data'))).toThrow('a parent of it is a file');
  });

  it('rejects an empty path', () => {
    expect(() => DataDir.open('')).toThrow(InvalidConfigError);
  });

  it('rejects a directory it cannot write, naming it', () => {
    // Root writes through permission bits; sysfs refuses new files even to root.
    let dir = '/sys';
    if (process.getuid?.() !== 0) {
      dir = tempDir();
      fs.chmodSync(dir, 0o555);
    }
    expect(() => DataDir.open(dir)).toThrow(InvalidConfigError);
    expect(() => DataDir.open(dir)).toThrow(`data directory "${fs.realpathSync(dir)}" is not writable`);
    if (dir !== '/sys') fs.chmodSync(dir, 0o755);
  });

  it('rejects inconsistent lock timings', () => {
    expect(() => DataDir.open(tempDir(), { lockHeartbeatMs: 1000, lockStaleMs: 2000 })).toThrow(InvalidConfigError);
    expect(() => DataDir.open(tempDir(), { lockWaitMs: 0 })).toThrow(InvalidConfigError);
  });
});

describe('partition directories', () => {
  it('splits a directory name at the last dash, as Kafka does', () => {
    expect(parsePartitionDirName('orders-0')).toEqual({ topic: 'orders', partition: 0 });
    expect(parsePartitionDirName('my-topic-12')).toEqual({ topic: 'my-topic', partition: 12 });
    expect(parsePartitionDirName('a--3')).toEqual({ topic: 'a-', partition: 3 });
    expect(parsePartitionDirName('__consumer_offsets-49')).toEqual({ topic: '__consumer_offsets', partition: 49 });
    expect(parsePartitionDirName('t-2147483647')).toEqual({ topic: 't', partition: 2147483647 });
  });

  it.each(['orders', '-1', 'orders-', 'orders-01', 'orders-1x', 'orders-0.abc-delete', 'orders-0.abc-future',
    't-2147483648', 'bad topic-1', '..-1', META_DIR_NAME, LOCK_FILE_NAME])('does not take "%s" for a partition directory', (name) => {
    expect(parsePartitionDirName(name)).toBeNull();
  });

  it('builds the directory name and path of a partition', () => {
    const dataDir = DataDir.open(tempDir());
    expect(partitionDirName('my-topic', 7)).toBe('my-topic-7');
    expect(dataDir.partitionDir('my-topic', 7)).toBe(path.join(dataDir.path, 'my-topic-7'));
    expect(() => dataDir.partitionDir('my-topic', -1)).toThrow(InvalidConfigError);
    expect(() => dataDir.partitionDir('my-topic', 1.5)).toThrow(InvalidConfigError);
    expect(() => dataDir.partitionDir('bad/topic', 0)).toThrow(InvalidConfigError);
    dataDir.close();
    expect(() => dataDir.partitionDir('my-topic', 0)).toThrow('closed');
  });

  it('lists partition directories sorted by topic then partition, ignoring everything else', () => {
    const dataDir = DataDir.open(tempDir());
    for (const name of ['b-10', 'b-2', 'a-x-1', 'a-x-0', 'a-0.1234-delete', META_DIR_NAME]) {
      fs.mkdirSync(path.join(dataDir.path, name));
    }
    fs.writeFileSync(path.join(dataDir.path, 'c-0'), ''); // a file, not a directory
    expect(dataDir.partitionDirs().map((e) => [e.topic, e.partition, path.basename(e.path)])).toEqual([
      ['a-x', 0, 'a-x-0'],
      ['a-x', 1, 'a-x-1'],
      ['b', 2, 'b-2'],
      ['b', 10, 'b-10'],
    ]);
    dataDir.close();
  });
});
