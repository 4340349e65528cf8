/**
 * `sluice cluster up`: one command starts ZooKeeper and the brokers, prints where they are, and
 * SIGINT (Ctrl-C) stops every one of them before it exits 0.
 */
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { CliProcess, killRunning } from '../cli/run-cli.js';
import { kcat } from '../server/helpers.js';
import { makeTempDir, removeTempDir } from '../support/temp-dir.js';

let dir: string | null = null;

afterEach(() => {
  killRunning();
  if (dir !== null) removeTempDir(dir);
  dir = null;
});

/** Whether something accepts TCP connections on 127.0.0.1:port. */
function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('sluice cluster up', () => {
  it('starts ZooKeeper and two brokers that form one cluster, and stops them all on SIGINT', async () => {
    dir = makeTempDir('cluster-up');
    const up = new CliProcess(['cluster', 'up', '--brokers', '2', '--dir', dir, '--port', '0', '--zookeeper-port', '0']);
    await up.waitForStdout((stdout) => stdout.includes('bootstrap '), 'the bootstrap line');
    const zookeeperPort = Number(/^zookeeper 127\.0\.0\.1:(\d+)$/m.exec(up.stdout)![1]);
    const brokerPorts = /^bootstrap (.+)$/m.exec(up.stdout)![1].split(',').map((address) => Number(address.split(':')[1]));
    expect(brokerPorts).toHaveLength(2);

    const metadata = JSON.parse((await kcat(['-L', '-J', '-b', `127.0.0.1:${brokerPorts[1]}`])).stdout) as { brokers: { id: number; name: string }[] };
    expect(metadata.brokers.map((broker) => broker.id).sort()).toEqual([1, 2]);
    expect(metadata.brokers.map((broker) => broker.name).sort()).toEqual(brokerPorts.map((port) => `127.0.0.1:${port}`).sort());

    up.child.kill('SIGINT');
    const exit = await up.exited;
    expect(exit.code, exit.stderr).toBe(0);
    expect(exit.stderr).toContain('stopping the brokers, then ZooKeeper');
    for (const port of [zookeeperPort, ...brokerPorts]) expect(await accepting(port)).toBe(false);
  }, 120_000);
});
