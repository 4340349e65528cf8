/**
 * Test support for the CLI tests: runs the built `sluice` (dist/src/cli/main.js, built by the
 * pretest script) as a child process, as a user would.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeTempDir, removeTempDir } from '../support/temp-dir.js';

export const CLI = join(dirname(fileURLToPath(import.meta.url)), '../../dist/src/cli/main.js');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const running = new Set<CliProcess>();

/** Kills the CLIs still running (after a failed test), so none keeps a data directory locked. */
export function killRunning(): void {
  for (const cli of running) cli.child.kill('SIGKILL');
  running.clear();
}

/** A running CLI whose output is collected from its first byte. */
export class CliProcess {
  readonly child: ChildProcessWithoutNullStreams;
  stdout = '';
  stderr = '';
  readonly exited: Promise<CliResult>;
  private readonly stdoutWaiters: (() => void)[] = [];

  constructor(args: readonly string[], options: { env?: Record<string, string> } = {}) {
    this.child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...options.env } });
    running.add(this);
    this.child.stdout.on('data', (chunk: Buffer) => {
      this.stdout += chunk.toString('utf8');
      for (const wake of this.stdoutWaiters.splice(0)) wake();
    });
    this.child.stderr.on('data', (chunk: Buffer) => (this.stderr += chunk.toString('utf8')));
    // A child that exits before reading all its input closes the pipe; that is its business.
    this.child.stdin.on('error', () => {});
    this.exited = new Promise((resolve, reject) => {
      this.child.on('error', reject);
      this.child.on('close', (code, signal) => {
        running.delete(this);
        for (const wake of this.stdoutWaiters.splice(0)) wake();
        resolve({ code, signal, stdout: this.stdout, stderr: this.stderr });
      });
    });
  }

  /** Resolves once stdout satisfies `ready`; rejects if the process exits first. */
  async waitForStdout(ready: (stdout: string) => boolean, what: string): Promise<void> {
    for (;;) {
      if (ready(this.stdout)) return;
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(`the CLI exited before printing ${what}; stderr: ${this.stderr}`);
      }
      await new Promise<void>((resolve) => this.stdoutWaiters.push(resolve));
    }
  }
}

/** Runs the CLI to completion with `input` on stdin (stdin is closed either way). */
export function runCli(args: readonly string[], options: { input?: string | Buffer; env?: Record<string, string> } = {}): Promise<CliResult> {
  const cli = new CliProcess(args, options);
  cli.child.stdin.end(options.input);
  return cli.exited;
}

export function tempDir(): string {
  return makeTempDir('cli');
}

export { removeTempDir as removeDir };

/** Lines of a command's stdout, without the empty string after the final newline. */
export function lines(text: string): string[] {
  const all = text.split('\n');
  if (all[all.length - 1] === '') all.pop();
  return all;
}
