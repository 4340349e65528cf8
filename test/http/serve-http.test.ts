/**
 * `sluice serve --http-port`: the HTTP server beside the Kafka listener of the CLI, over real
 * sockets: a data directory whose last batch was torn is recovered at start and /metrics says
 * what recovery repaired; kcat produces through the Kafka port and /metrics counts the Produce
 * request; Burrow's API lists the group that consumed before the restart; the console's message
 * browser takes --console-schema-registry; SIGTERM stops both.
 */
import { execFile } from 'node:child_process';
import { closeSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.js';
import { CliProcess, killRunning, removeDir, runCli, tempDir } from '../cli/run-cli.js';
import { basicAuth, get, getJson, sample, scrape } from './http-test-support.js';
import { writeCredentialsFile } from '../support/sasl-credentials.js';

const root = tempDir();

afterAll(() => {
  killRunning();
  removeDir(root);
});

describe('sluice serve --http-port', () => {
  it('serves Burrow and /metrics beside the Kafka listener, with recovery and request figures', async () => {
    const dataDir = join(root, 'served');
    expect((await runCli(['topics', 'create', 't', '--partitions', '1', '--data-dir', dataDir])).code).toBe(0);
    const input = Array.from({ length: 200 }, (_, i) => `v${i}`).join('\n');
    expect((await runCli(['produce', 't', '--data-dir', dataDir], { input })).code).toBe(0);
    const consumed = await runCli(['consume', 't', '--group', 'g', '--from-beginning', '--max-messages', '10', '--data-dir', dataDir]);
    expect(consumed.code, consumed.stderr).toBe(0);
    // Tear the last batch: recovery cuts it at the next start.
    const segment = join(dataDir, 't-0', '00000000000000000000.log');
    const at = statSync(segment).size - 10;
    const fd = openSync(segment, 'r+');
    try {
      writeSync(fd, Buffer.from([readFileSync(segment)[at] ^ 0xff]), 0, 1, at);
    } finally {
      closeSync(fd);
    }

    // The registry is never asked: no record of t is in its wire format.
    const server = new CliProcess(['serve', '--data-dir', dataDir, '--port', '0', '--shards', '1', '--http-port', '0', '--console-schema-registry', 'http://127.0.0.1:9']);
    await server.waitForStdout((stdout) => stdout.includes('\n'), 'the listening line');
    const kafkaPort = /^listening on 127\.0\.0\.1:(\d+)\n$/.exec(server.stdout)![1];
    const httpPort = /serving HTTP \(Burrow lag API, Prometheus \/metrics\) on 127\.0\.0\.1:(\d+)/.exec(server.stderr)![1];
    const base = `http://127.0.0.1:${httpPort}`;

    expect(await get(base, '/burrow/admin')).toMatchObject({ status: 200, text: 'GOOD' });
    expect((await getJson(base, '/v3/kafka/local/consumer')).body.consumers).toEqual(['g']);
    expect((await getJson(base, '/v3/kafka/local/consumer/g/lag')).body.status).toMatchObject({ group: 'g', partition_count: 1 });
    const browsed = await get(base, '/topics/t/messages?format=schema&limit=1');
    expect(browsed.status).toBe(200);
    expect(browsed.text).toContain('<option value="schema" selected>schema</option>');
    expect(browsed.text).toContain('<td class="field"><pre>v0</pre></td>');

    await new Promise<void>((resolve, reject) => {
      const kcat = execFile('kcat', ['-b', `127.0.0.1:${kafkaPort}`, '-P', '-t', 't'], { timeout: 30_000 }, (error) => (error === null ? resolve() : reject(error)));
      kcat.stdin!.end('one\ntwo\nthree\n');
    });
    await eventually(async () => sample((await scrape(base)).families, 'sluice_requests_total', { api: 'Produce' })! >= 1, { what: 'a Produce request counted' });
    const { families } = await scrape(base);
    expect(sample(families, 'sluice_recovery_repairs', { kind: 'bytesTruncated' })).toBeGreaterThan(0);
    expect(sample(families, 'sluice_recovery_repairs', { kind: 'partitionsRepaired' })).toBe(1);
    expect(sample(families, 'sluice_topic_partition_records_in_total', { topic: 't', partition: '0' })).toBe(3);

    server.child.kill('SIGTERM');
    expect((await server.exited).code).toBe(0);
    await expect(fetch(`${base}/burrow/admin`)).rejects.toThrow();
  });

  it('takes the Kafka listener\'s SASL users and ACLs for HTTP too', async () => {
    const dataDir = join(root, 'secured');
    const credentialsFile = join(root, 'users.json');
    writeCredentialsFile(credentialsFile, { passwords: { admin: 'admin-secret', alice: 'alice-secret' } });
    const server = new CliProcess([
      'serve',
      ...['--data-dir', dataDir, '--port', '0', '--shards', '1', '--http-port', '0'],
      ...['--sasl-mechanisms', 'PLAIN', '--sasl-credentials-file', credentialsFile, '--authorizer', '--super-users', 'User:admin'],
    ]);
    await server.waitForStdout((stdout) => stdout.includes('\n'), 'the listening line');
    const httpPort = /serving HTTP \(Burrow lag API, Prometheus \/metrics\) on 127\.0\.0\.1:(\d+)/.exec(server.stderr)![1];
    const base = `http://127.0.0.1:${httpPort}`;
    expect((await get(base, '/burrow/admin')).status).toBe(401);
    expect(await get(base, '/burrow/admin', basicAuth('alice', 'alice-secret'))).toMatchObject({ status: 200, text: 'GOOD' });
    expect((await get(base, '/metrics', basicAuth('alice', 'alice-secret'))).status).toBe(403);
    expect((await get(base, '/metrics', basicAuth('admin', 'admin-secret'))).status).toBe(200);
    server.child.kill('SIGTERM');
    expect((await server.exited).code).toBe(0);
  });

  it('refuses --http-host or --console-schema-registry without --http-port, and a port out of range, with one error line', async () => {
    const hostAlone = await runCli(['serve', '--data-dir', join(root, 'unused'), '--http-host', '0.0.0.0']);
    expect(hostAlone.code).toBe(2);
    expect(hostAlone.stderr).toBe('error: --http-host needs --http-port\n');
    const registryAlone = await runCli(['serve', '--data-dir', join(root, 'unused'), '--console-schema-registry', 'http://127.0.0.1:8081']);
    expect(registryAlone.code).toBe(2);
    expect(registryAlone.stderr).toBe('error: --console-schema-registry needs --http-port\n');
    const badPort = await runCli(['serve', '--data-dir', join(root, 'unused'), '--http-port', '70000']);
    expect(badPort.code).toBe(2);
    expect(badPort.stderr).toMatch(/^error: option '--http-port <port>' argument '70000' is invalid/);
  });
});
