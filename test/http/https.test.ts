/**
 * The HTTP surface over HTTPS with the Kafka listeners' certificate options, over real sockets
 * and openssl-made certificates: served with TLS 1.2+ to a client that trusts the CA, a plain
 * HTTP request on the port failing without harm, client certificates judged as the Kafka
 * listeners judge them (required, another CA, expired), a verified certificate's subject as the
 * principal the ACLs see, and a reload serving a renewed certificate while keeping the current
 * one when the new files do not fit.
 */
import { copyFileSync, readFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeTestCertificates, type KeyPair, type TestCertificates } from '../../bench/tls-certs.js';
import { AclOperation, AclPermissionType, PatternType, ResourceType } from '../../src/broker/acl/acl.js';
import { Broker } from '../../src/broker/broker.js';
import { InvalidConfigError } from '../../src/errors.js';
import { HttpServer } from '../../src/http/http-server.js';
import { quietLogger } from '../broker/broker-test-helpers.js';
import { makeTempDir, removeTempDir } from '../support/temp-dir.js';

let dir: string;
let certs: TestCertificates;
let broker: Broker;
let http: HttpServer | null = null;

beforeAll(async () => {
  dir = makeTempDir('https');
  certs = makeTestCertificates(dir);
  broker = await Broker.open({ dataDir: join(dir, 'data'), shards: 1, logger: quietLogger });
});

afterEach(async () => {
  await http?.close();
  http = null;
});

afterAll(async () => {
  await broker?.close();
  removeTempDir(dir);
});

interface Answer {
  status: number;
  body: string;
  subject: string;
  protocol: string;
}

/** GET over HTTPS trusting the test CA, optionally with a client certificate. */
function get(port: number, path: string, client?: KeyPair): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: '127.0.0.1',
        port,
        path,
        ca: readFileSync(certs.ca),
        ...(client === undefined ? {} : { cert: readFileSync(client.cert), key: readFileSync(client.key) }),
        agent: false,
      },
      (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
        res.on('end', () => {
          const socket = res.socket as import('node:tls').TLSSocket;
          resolve({ status: res.statusCode ?? 0, body, subject: socket.getPeerX509Certificate()?.subject ?? '', protocol: socket.getProtocol() ?? '' });
        });
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('the HTTP surface over HTTPS', () => {
  it('serves HTTPS to a client trusting the CA, and a plain HTTP request on the port fails without harm', async () => {
    http = new HttpServer(broker, { port: 0, tls: { certFile: certs.server.cert, keyFile: certs.server.key } });
    const { port } = await http.listen();
    expect(http.https).toBe(true);
    const answer = await get(port, '/burrow/admin');
    expect(answer).toMatchObject({ status: 200, subject: 'CN=sluice-server' });
    expect(['TLSv1.2', 'TLSv1.3']).toContain(answer.protocol);

    const plain = await new Promise<{ status: number } | { error: string }>((resolve) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/burrow/admin', agent: false }, (res) => {
        res.resume();
        resolve({ status: res.statusCode ?? 0 });
      });
      req.on('error', (error) => resolve({ error: (error as NodeJS.ErrnoException).code ?? error.message }));
      req.end();
    });
    expect(plain).not.toMatchObject({ status: 200 });
    expect((await get(port, '/burrow/admin')).status).toBe(200);
  });

  it('judges client certificates as the Kafka listeners do when they are required', async () => {
    http = new HttpServer(broker, {
      port: 0,
      tls: { certFile: certs.server.cert, keyFile: certs.server.key, caFile: certs.ca, clientAuth: 'required' },
    });
    const { port } = await http.listen();
    const none = await get(port, '/burrow/admin');
    expect(none.status).toBe(403);
    expect(JSON.parse(none.body).message).toBe('no client certificate, and clientAuth is required');
    const otherCa = await get(port, '/burrow/admin', certs.otherCaClient);
    expect(otherCa.status).toBe(403);
    expect(JSON.parse(otherCa.body).message).toMatch(/^client certificate refused: /);
    const expired = await get(port, '/burrow/admin', certs.expiredClient);
    expect(expired.status).toBe(403);
    expect(JSON.parse(expired.body).message).toMatch(/CERT_HAS_EXPIRED/);
    expect((await get(port, '/burrow/admin', certs.client)).status).toBe(200);
  });

  it("gives the ACLs the certificate's principal, through the mapping rules", async () => {
    await broker.createAcls([
      {
        resourceType: ResourceType.CLUSTER,
        resourceName: 'kafka-cluster',
        patternType: PatternType.LITERAL,
        principal: 'User:client',
        host: '*',
        operation: AclOperation.DESCRIBE,
        permissionType: AclPermissionType.ALLOW,
      },
    ]);
    http = new HttpServer(broker, {
      port: 0,
      authorizer: {},
      tls: {
        certFile: certs.server.cert,
        keyFile: certs.server.key,
        caFile: certs.ca,
        clientAuth: 'requested',
        principalMappingRules: 'RULE:^.*CN=([a-z]+).*$/$1/,DEFAULT',
      },
    });
    const { port } = await http.listen();
    // User:client may describe the cluster (/metrics); User:robot and User:ANONYMOUS may not.
    expect((await get(port, '/metrics', certs.client)).status).toBe(200);
    expect((await get(port, '/metrics', certs.robotClient)).status).toBe(403);
    expect((await get(port, '/metrics')).status).toBe(403);
  });

  it('serves a renewed certificate after reloadTls, and keeps the current one when the new files do not fit', async () => {
    const certFile = join(dir, 'served.pem');
    const keyFile = join(dir, 'served.key');
    copyFileSync(certs.server.cert, certFile);
    copyFileSync(certs.server.key, keyFile);
    http = new HttpServer(broker, { port: 0, tls: { certFile, keyFile } });
    const { port } = await http.listen();
    expect((await get(port, '/burrow/admin')).subject).toBe('CN=sluice-server');
    copyFileSync(certs.renewedServer.cert, certFile);
    copyFileSync(certs.renewedServer.key, keyFile);
    http.reloadTls();
    expect((await get(port, '/burrow/admin')).subject).toBe('CN=sluice-renewed');
    copyFileSync(certs.client.key, keyFile);
    expect(() => http!.reloadTls()).toThrow(InvalidConfigError);
    expect((await get(port, '/burrow/admin')).subject).toBe('CN=sluice-renewed');
  });

  it('refuses tls options the Kafka server would refuse, and a reload without tls', () => {
    expect(() => new HttpServer(broker, { port: 0, tls: { certFile: certs.server.cert, keyFile: certs.server.key, clientAuth: 'required' } })).toThrow(
      /clientAuth required needs tls.caFile/,
    );
    expect(() => new HttpServer(broker, { port: 0, tls: { certFile: join(dir, 'missing.pem'), keyFile: certs.server.key } })).toThrow(/cannot read/);
    const plain = new HttpServer(broker, { port: 0 });
    expect(() => plain.reloadTls()).toThrow(/started without tls/);
    void plain.close();
  });
});
