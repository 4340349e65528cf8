/**
 * The peer comparison leaves no process behind: servers it starts are stopped after their row
 * (and a process that ignores SIGTERM is killed after the grace period). With redis-server and
 * nats-server installed, a tiny comparison runs every peer and checks that all its pids are gone.
 * The in-process stores (LMDB, SQLite) need no server: their rows append, read back and check
 * every record in order, beside Sluice's produce and consume of the same records.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { formatCompareReport, runCompare, DEFAULT_COMPARE_OPTIONS } from '../../bench/compare.js';
import { freePort, isAlive, ProcessGroup, waitForOutput, waitForPort } from '../../bench/peers/processes.js';

const installed = (binary: string): boolean => spawnSync('sh', ['-c', `command -v ${binary}`], { stdio: 'ignore' }).status === 0;
const peersInstalled = installed('redis-server') && installed('nats-server');

describe('ProcessGroup', () => {
  it('stops what it started: SIGTERM, then SIGKILL for a process that ignores it', async () => {
    const group = new ProcessGroup();
    const polite = group.start('polite', process.execPath, ['-e', 'setInterval(() => {}, 1000); console.log("up")']);
    const stubborn = group.start('stubborn', process.execPath, ['-e', 'process.on("SIGTERM", () => {}); setInterval(() => {}, 1000); console.log("up")']);
    await waitForOutput(polite, /up/);
    await waitForOutput(stubborn, /up/);
    expect(isAlive(polite.pid) && isAlive(stubborn.pid)).toBe(true);
    await group.stopAll(300);
    expect(isAlive(polite.pid)).toBe(false);
    expect(isAlive(stubborn.pid)).toBe(false);
    expect(await polite.exited).toBe('SIGTERM');
    expect(await stubborn.exited).toBe('SIGKILL');
    expect(group.pids).toEqual([polite.pid, stubborn.pid]);
  });

  it('waits for a port, and reports a server that exits before listening with its output', async () => {
    const group = new ProcessGroup();
    const port = await freePort();
    const server = group.start('listener', process.execPath, ['-e', `require('net').createServer().listen(${port}, '127.0.0.1')`]);
    await waitForPort(port, server);
    await group.stopAll();
    expect(isAlive(server.pid)).toBe(false);
    const failing = group.start('failing', process.execPath, ['-e', 'console.error("bad config"); process.exit(3)']);
    await expect(waitForPort(await freePort(), failing)).rejects.toThrow(/failing exited \(3\) before listening[\s\S]*bad config/);
  });
});

describe.runIf(peersInstalled)('bench:compare with every peer', () => {
  it('measures every peer on the same workload and stops every server it started', async () => {
    const group = new ProcessGroup();
    const report = await runCompare({ ...DEFAULT_COMPARE_OPTIONS, records: 2000, sendRecords: 200, install: false }, group);
    await group.stopAll();
    expect(report.rows.map((row) => row.peer)).toEqual(['sluice', 'sluice-kafka', 'redis', 'redis-aof', 'redis-c', 'nats', 'lmdb', 'sqlite']);
    for (const row of report.rows) {
      expect(row.skipped).toBeNull();
      expect(row.measurement?.records).toBe(2000);
      expect(row.recordsPerSecVsSluice).toBeGreaterThan(0);
    }
    expect(report.rows[0].recordsPerSecVsSluice).toBe(1);
    // redis-server three times, redis-benchmark, nats-server and the Sluice server once each.
    expect(report.pids).toHaveLength(6);
    for (const pid of report.pids) expect(isAlive(pid)).toBe(false);
    const table = formatCompareReport(report);
    expect(table).toMatch(/^peer +records\/s +vs sluice +MB\/s +p99 ms +p99 vs sluice +read records\/s +read MB\/s +read vs sluice +setup/);
    expect(table).toContain('workload: 2,000 records of 100 B');
  });
});

describe('bench:compare with the in-process stores', () => {
  it('appends into LMDB and SQLite in transactions and reads every record back in order, beside Sluice', async () => {
    const group = new ProcessGroup();
    const report = await runCompare({ ...DEFAULT_COMPARE_OPTIONS, peers: ['sluice', 'lmdb', 'sqlite'], records: 3000, sendRecords: 250 }, group);
    await group.stopAll();
    expect(report.rows.map((row) => row.peer)).toEqual(['sluice', 'lmdb', 'sqlite']);
    for (const row of report.rows) {
      expect(row.skipped).toBeNull();
      expect(row.measurement?.records).toBe(3000);
      // The stores' read pass is followed by a check of every value against what was sent, in order.
      expect(row.measurement?.read?.records).toBe(3000);
      expect(row.measurement?.read?.mbPerSec).toBeGreaterThan(0);
      expect(row.readVsSluice).toBeGreaterThan(0);
      expect(row.p99VsSluice).toBeGreaterThan(0);
    }
    expect(report.pids).toHaveLength(0);
    expect(formatCompareReport(report)).toMatch(/\nlmdb +[\d,]+ +[\d.]+x/);
  });
});
