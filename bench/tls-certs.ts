/**
 * Certificates for the TLS benchmark and tests, made with the openssl CLI in a temp directory: a
 * CA, a server certificate for 127.0.0.1 and localhost, client certificates (valid, expired, and
 * one from another CA), and a renewed server certificate for reload tests. EC P-256 keys: quick
 * to make.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

export interface KeyPair {
  cert: string;
  key: string;
}

export interface TestCertificates {
  dir: string;
  /** The CA that signed server and client certificates. */
  ca: string;
  server: KeyPair;
  /** Same CA and key type, subject CN=sluice-renewed: what a reload should start serving. */
  renewedServer: KeyPair;
  /** Subject C=US, O=acme, OU=ops, CN=client. */
  client: KeyPair;
  /** Subject O=acme, CN=robot: a valid client no OU-based mapping rule matches. */
  robotClient: KeyPair;
  /** Signed by the CA, but its validity ended yesterday. */
  expiredClient: KeyPair;
  /** A CA the server does not trust, and a client certificate it signed. */
  otherCa: string;
  otherCaClient: KeyPair;
  remove(): void;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function newCa(dir: string, name: string, subject: string): string {
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-subj', subject, '-days', '2'], dir);
  return join(dir, `${name}.pem`);
}

function issue(dir: string, ca: string, name: string, subject: string, days: number, extensions?: string): KeyPair {
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', subject], dir);
  const extArgs: string[] = [];
  if (extensions !== undefined) {
    writeFileSync(join(dir, `${name}.ext`), extensions);
    extArgs.push('-extfile', `${name}.ext`);
  }
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', String(days), ...extArgs], dir);
  return { cert: join(dir, `${name}.pem`), key: join(dir, `${name}.key`) };
}

export function makeTestCertificates(parent: string = os.tmpdir()): TestCertificates {
  const dir = mkdtempSync(join(parent, 'sluice-tls-'));
  const serverExtensions = 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n';
  const clientExtensions = 'extendedKeyUsage=clientAuth\n';
  const ca = newCa(dir, 'ca', '/CN=Sluice Test CA');
  const otherCa = newCa(dir, 'other-ca', '/CN=Other Test CA');
  return {
    dir,
    ca,
    server: issue(dir, 'ca', 'server', '/CN=sluice-server', 2, serverExtensions),
    renewedServer: issue(dir, 'ca', 'renewed-server', '/CN=sluice-renewed', 2, serverExtensions),
    client: issue(dir, 'ca', 'client', '/C=US/O=acme/OU=ops/CN=client', 2, clientExtensions),
    robotClient: issue(dir, 'ca', 'robot-client', '/O=acme/CN=robot', 2, clientExtensions),
    expiredClient: issue(dir, 'ca', 'expired-client', '/CN=expired', -1, clientExtensions),
    otherCa,
    otherCaClient: issue(dir, 'other-ca', 'other-client', '/CN=client', 2, clientExtensions),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
