/** `sluice serve`'s cluster flags: what goes together, and a ZooKeeper that does not answer. */
import { afterEach, describe, expect, it } from 'vitest';
import { freePort } from '../../src/cluster/zookeeper-server.js';
import { killRunning, removeDir, runCli, tempDir } from '../cli/run-cli.js';

let dir: string | null = null;

afterEach(() => {
  killRunning();
  if (dir !== null) removeDir(dir);
  dir = null;
});

describe('sluice serve --zookeeper', () => {
  it('refuses cluster flags without --zookeeper, and automatic topic creation with it', async () => {
    const lonely = await runCli(['serve', '--port', '0', '--zookeeper-session-timeout-ms', '6000']);
    expect(lonely.code).toBe(2);
    expect(lonely.stderr).toBe('error: --zookeeper-session-timeout-ms needs --zookeeper\n');
    const replicated = await runCli(['serve', '--port', '0', '--default-replication-factor', '3']);
    expect(replicated.code).toBe(2);
    expect(replicated.stderr).toBe('error: --default-replication-factor needs --zookeeper\n');
    const lagging = await runCli(['serve', '--port', '0', '--replica-lag-time-max-ms', '1000']);
    expect(lagging.code).toBe(2);
    expect(lagging.stderr).toBe('error: --replica-lag-time-max-ms needs --zookeeper\n');
    const unclean = await runCli(['serve', '--port', '0', '--unclean-leader-election']);
    expect(unclean.code).toBe(2);
    expect(unclean.stderr).toBe('error: --unclean-leader-election needs --zookeeper\n');
    const rebalance = await runCli(['serve', '--port', '0', '--leader-imbalance-check-interval-seconds', '5']);
    expect(rebalance.code).toBe(2);
    expect(rebalance.stderr).toBe('error: --leader-imbalance-check-interval-seconds needs --zookeeper\n');
    const autoCreate = await runCli(['serve', '--port', '0', '--zookeeper', '127.0.0.1:2181', '--auto-create-topics', 'true']);
    expect(autoCreate.code).toBe(2);
    expect(autoCreate.stderr).toMatch(/^error: --auto-create-topics true is not available with --zookeeper/);
    const malformed = await runCli(['serve', '--port', '0', '--zookeeper', 'no-port-here', '--data-dir', (dir = tempDir())]);
    expect(malformed.code).toBe(1);
    expect(malformed.stderr).toMatch(/zookeeper must be host:port\[,host:port\.\.\.\]\[\/chroot\], got "no-port-here"/);
  });

  it('exits with an error naming the address when ZooKeeper does not answer', async () => {
    dir = tempDir();
    const port = await freePort();
    const result = await runCli(['serve', '--port', '0', '--data-dir', dir, '--broker-id', '1', '--zookeeper', `127.0.0.1:${port}`, '--zookeeper-session-timeout-ms', '1000']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`could not connect to ZooKeeper at 127.0.0.1:${port} within 1000 ms; is it running?`);
    expect(result.stdout).toBe('');
  }, 30_000);
});
