/**
 * `sluice serve --listener ...` with TLS: one `listening on NAME://HOST:PORT` line per listener,
 * kcat over SSL and PLAINTEXT against the same process with each listener's advertised address,
 * SIGHUP serving a renewed certificate to new connections of the SSL listener and of HTTPS
 * (--http-tls), keeping the current one when the new files do not fit, and flags that do not go
 * together refused as usage errors.
 */
import { copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as connectTls } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/eventually.js';
import { makeTestCertificates, type TestCertificates } from '../../bench/tls-certs.js';
import { kcat } from '../server/helpers.js';
import { CliProcess, killRunning, removeDir, runCli, tempDir } from './run-cli.js';

let root: string;
let certs: TestCertificates;

beforeAll(() => {
  root = tempDir();
  certs = makeTestCertificates();
});

afterAll(() => {
  killRunning();
  removeDir(root);
  certs?.remove();
});

async function servedSubject(port: number): Promise<string> {
  const socket = connectTls({ host: '127.0.0.1', port, ca: readFileSync(certs.ca) });
  await new Promise((resolve, reject) => {
    socket.once('secureConnect', resolve);
    socket.once('error', reject);
  });
  const subject = socket.getPeerX509Certificate()!.subject;
  socket.destroy();
  return subject;
}

describe('sluice serve with listeners', () => {
  it('serves PLAINTEXT and SSL at once, advertises each, and reloads the certificate on SIGHUP', async () => {
    const certFile = join(root, 'served.pem');
    const keyFile = join(root, 'served.key');
    copyFileSync(certs.server.cert, certFile);
    copyFileSync(certs.server.key, keyFile);
    const server = new CliProcess([
      'serve', '--data-dir', join(root, 'data'), '--shards', '1',
      '--listener', 'PLAINTEXT://127.0.0.1:0', '--listener', 'SSL://127.0.0.1:0',
      '--advertised-listener', 'SSL://localhost:0',
      '--tls-cert', certFile, '--tls-key', keyFile, '--tls-ca', certs.ca, '--tls-client-auth', 'requested',
      '--http-port', '0', '--http-tls',
    ]);
    await server.waitForStdout((stdout) => stdout.split('\n').length > 2, 'the two listening lines');
    const match = /^listening on PLAINTEXT:\/\/127\.0\.0\.1:(\d+)\nlistening on SSL:\/\/127\.0\.0\.1:(\d+)\n$/.exec(server.stdout);
    expect(match, server.stdout).not.toBeNull();
    const [plaintext, ssl] = [Number(match![1]), Number(match![2])];

    const tls = ['-X', 'security.protocol=ssl', '-X', `ssl.ca.location=${certs.ca}`];
    await kcat(['-b', `127.0.0.1:${ssl}`, ...tls, '-P', '-t', 'served'], { input: 'a\nb\n' });
    const overSsl = await kcat(['-b', `127.0.0.1:${ssl}`, ...tls, '-C', '-t', 'served', '-c', '2', '-e', '-q', '-f', '%s\n']);
    expect(overSsl.stdout).toBe('a\nb\n');
    const overPlaintext = await kcat(['-b', `127.0.0.1:${plaintext}`, '-C', '-t', 'served', '-c', '2', '-e', '-q', '-f', '%s\n']);
    expect(overPlaintext.stdout).toBe('a\nb\n');
    expect(JSON.parse((await kcat(['-b', `127.0.0.1:${ssl}`, ...tls, '-L', '-J'])).stdout).brokers).toEqual([{ id: 0, name: `localhost:${ssl}` }]);
    expect(JSON.parse((await kcat(['-b', `127.0.0.1:${plaintext}`, '-L', '-J'])).stdout).brokers).toEqual([{ id: 0, name: `127.0.0.1:${plaintext}` }]);

    expect(await servedSubject(ssl)).toBe('CN=sluice-server');
    const httpsPort = Number(/serving HTTPS \(Burrow lag API, Prometheus \/metrics\) on 127\.0\.0\.1:(\d+)/.exec(server.stderr)![1]);
    expect(await servedSubject(httpsPort)).toBe('CN=sluice-server');
    copyFileSync(certs.renewedServer.cert, certFile);
    copyFileSync(certs.renewedServer.key, keyFile);
    server.child.kill('SIGHUP');
    await eventually(() => server.stderr.includes(`reloaded the TLS certificate ${certFile}`), { what: 'the reload log line' });
    expect(await servedSubject(ssl)).toBe('CN=sluice-renewed');
    expect(await servedSubject(httpsPort)).toBe('CN=sluice-renewed');

    // A key that does not fit the certificate: reported, and the current pair stays.
    copyFileSync(certs.client.key, keyFile);
    server.child.kill('SIGHUP');
    await eventually(() => server.stderr.includes('SIGHUP: kept the current TLS listeners certificate'), { what: 'the refused-reload log line' });
    expect(await servedSubject(ssl)).toBe('CN=sluice-renewed');

    server.child.kill('SIGTERM');
    expect((await server.exited).code).toBe(0);
  });

  it('refuses flags that do not go together', async () => {
    const cases: [string[], RegExp][] = [
      [['--listener', 'PLAINTEXT://127.0.0.1:0', '--port', '9092'], /--listener replaces --port/],
      [['--advertised-listener', 'SSL://localhost:9093'], /--advertised-listener needs --listener/],
      [['--listener', 'SSL://127.0.0.1:0', '--tls-cert', certs.server.cert], /--tls-cert and --tls-key go together/],
      [['--tls-ca', certs.ca], /the --tls-\* options need --tls-cert and --tls-key/],
      [['--http-port', '0', '--http-tls'], /--http-tls needs --http-port and the certificate of --tls-cert and --tls-key/],
      [['--listener', 'TLS://127.0.0.1:0'], /not a security protocol/],
      [['--listener', 'SSL://127.0.0.1:0', '--tls-client-auth', 'always', '--tls-cert', certs.server.cert, '--tls-key', certs.server.key], /Allowed choices are none, requested, required/],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(['serve', '--data-dir', join(root, 'refused'), ...args]);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(message);
    }
  });
});
