/**
 * The server processes a benchmark starts (redis-server, nats-server, a Sluice server), and the
 * promise that every one of them is stopped: after its run, on error, and on SIGINT / SIGTERM.
 * Stopping sends SIGTERM, waits for the exit, and sends SIGKILL to a process still alive after
 * the grace period.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface StartedProcess {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
  /** What the process wrote to stdout and stderr, last 16 KiB: for error messages. */
  output(): string;
}

export interface StartOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

const OUTPUT_KEEP_BYTES = 16 * 1024;
const STOP_GRACE_MS = 5_000;

export class ProcessGroup {
  private readonly running = new Set<StartedProcess>();
  private readonly startedPids: number[] = [];
  private signalHandler: ((signal: NodeJS.Signals) => void) | null = null;

  /** Every pid this group started, in order, running or not. */
  get pids(): readonly number[] {
    return this.startedPids;
  }

  start(name: string, command: string, args: readonly string[], options: StartOptions = {}): StartedProcess {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-OUTPUT_KEEP_BYTES);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const exited = new Promise<number | string>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
    });
    exited.catch(() => undefined);
    if (child.pid === undefined) {
      // spawn failed (command missing): the 'error' event carries why.
      throw new Error(`could not start ${name} (${command})`);
    }
    const started: StartedProcess = { name, pid: child.pid, child, exited, output: () => output };
    exited.then(
      () => this.running.delete(started),
      () => this.running.delete(started),
    );
    this.running.add(started);
    this.startedPids.push(child.pid);
    return started;
  }

  /** SIGTERM, then SIGKILL after the grace period; resolves once the process is gone. */
  async stop(started: StartedProcess, graceMs = STOP_GRACE_MS): Promise<void> {
    if (!this.running.has(started)) return;
    started.child.kill('SIGTERM');
    const outcome = await Promise.race([started.exited.then(() => 'exited'), sleep(graceMs).then(() => 'timeout')]);
    if (outcome === 'timeout') {
      started.child.kill('SIGKILL');
      await started.exited.catch(() => undefined);
    }
    this.running.delete(started);
  }

  async stopAll(graceMs = STOP_GRACE_MS): Promise<void> {
    await Promise.all([...this.running].map((started) => this.stop(started, graceMs)));
  }

  /** On SIGINT or SIGTERM: stop every process, run `cleanUp` (temporary files), then exit with 128 + the signal number. */
  stopOnSignals(cleanUp: () => void = () => {}): void {
    if (this.signalHandler !== null) return;
    this.signalHandler = (signal) => {
      void this.stopAll()
        .finally(cleanUp)
        .finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    };
    process.once('SIGINT', this.signalHandler);
    process.once('SIGTERM', this.signalHandler);
  }

  releaseSignals(): void {
    if (this.signalHandler === null) return;
    process.off('SIGINT', this.signalHandler);
    process.off('SIGTERM', this.signalHandler);
    this.signalHandler = null;
  }
}

/** A TCP port free on 127.0.0.1 right now (the kernel's pick), for a server about to be started. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('could not find a free port');
  return address.port;
}

/** Resolves once 127.0.0.1:port accepts a connection; rejects if `started` exits first or after timeoutMs. */
export async function waitForPort(port: number, started: StartedProcess, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exitCode: number | string | null = null;
  void started.exited.then((code) => (exitCode = code), () => (exitCode = 'spawn error'));
  for (;;) {
    if (exitCode !== null) throw new Error(`${started.name} exited (${exitCode}) before listening on ${port}:\n${started.output()}`);
    if (await canConnect(port)) return;
    if (Date.now() > deadline) throw new Error(`${started.name} did not listen on 127.0.0.1:${port} within ${timeoutMs} ms:\n${started.output()}`);
    await sleep(50);
  }
}

/** Resolves with the first match of `pattern` in the process's output; rejects if it exits first or after timeoutMs. */
export async function waitForOutput(started: StartedProcess, pattern: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  let exitCode: number | string | null = null;
  void started.exited.then((code) => (exitCode = code), () => (exitCode = 'spawn error'));
  for (;;) {
    const match = started.output().match(pattern);
    if (match !== null) return match;
    if (exitCode !== null) throw new Error(`${started.name} exited (${exitCode}) before printing ${pattern}:\n${started.output()}`);
    if (Date.now() > deadline) throw new Error(`${started.name} did not print ${pattern} within ${timeoutMs} ms:\n${started.output()}`);
    await sleep(50);
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** True while a process with this pid exists (signal 0 probes without signalling). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
