/**
 * TLS listeners with real peers against certificates made by openssl: kcat and kafkajs produce
 * and consume over SSL (with and without a client certificate) and SASL_SSL (SCRAM); several
 * listeners serve at once and Metadata advertises the one a client came through; a client
 * certificate's subject is the principal the ACLs see (Kafka's RFC 2253 form, or as mapped by
 * principalMappingRules) and the SASL user is on SASL_SSL; certificates from another CA, expired
 * ones, missing ones under clientAuth required, a plaintext client and a handshake that never
 * finishes each close only their own connection with a log line; reloadTls serves a renewed
 * certificate to new connections without closing open ones.
 */
import { randomBytes } from 'node:crypto';
import { copyFileSync, readFileSync } from 'node:fs';
import { connect as connectTcp, createServer as createTcpServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { connect as connectTls, type TLSSocket } from 'node:tls';
import { ConfigResourceTypes, Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AclOperation, AclPermissionType, PatternType, ResourceType } from '../../src/broker/acl/acl.js';
import { ApiVersions } from '../../src/protocol/api/api-versions.js';
import { writeCredentialsFile } from '../support/sasl-credentials.js';
import { KafkaServer } from '../../src/server/server.js';
import { within } from '../support/eventually.js';
import { makeTestCertificates, type KeyPair, type TestCertificates } from '../../bench/tls-certs.js';
import { TestClient, eventually, kcat, startServer, type TestServer } from './helpers.js';

let certs: TestCertificates;

beforeAll(() => {
  certs = makeTestCertificates();
});

afterAll(() => certs?.remove());

const CERT_PRINCIPAL = 'User:CN=client,OU=ops,O=acme,C=US';

function sslArgs(clientCert?: KeyPair): string[] {
  const args = ['-X', 'security.protocol=ssl', '-X', `ssl.ca.location=${certs.ca}`];
  if (clientCert !== undefined) args.push('-X', `ssl.certificate.location=${clientCert.cert}`, '-X', `ssl.key.location=${clientCert.key}`);
  return args;
}

function kafkajsSsl(brokers: string[], clientCert?: KeyPair, sasl?: { username: string; password: string }): Kafka {
  return new Kafka({
    clientId: 'tls-test',
    brokers,
    ssl: {
      ca: [readFileSync(certs.ca, 'utf8')],
      ...(clientCert === undefined ? {} : { cert: readFileSync(clientCert.cert, 'utf8'), key: readFileSync(clientCert.key, 'utf8') }),
    },
    ...(sasl === undefined ? {} : { sasl: { mechanism: 'scram-sha-256', ...sasl } }),
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  });
}

function kafkajsPlain(brokers: string[]): Kafka {
  return new Kafka({ clientId: 'tls-test', brokers, logLevel: logLevel.NOTHING, retry: { retries: 0 } });
}

function portOf(t: TestServer, name: string): number {
  const bound = t.server.addresses.find((address) => address.name === name);
  if (bound === undefined) throw new Error(`no ${name} listener`);
  return bound.port;
}

/** Opens a TLS connection and resolves once it is closed, by either side. */
function tlsClosed(socket: TLSSocket): Promise<void> {
  socket.on('error', () => undefined);
  return new Promise((resolve) => socket.once('close', () => resolve()));
}

function allow(principal: string, resourceType: number, resourceName: string) {
  return {
    resourceType,
    resourceName,
    patternType: PatternType.LITERAL,
    principal,
    host: '*',
    operation: AclOperation.ALL,
    permissionType: AclPermissionType.ALLOW,
  };
}

describe('PLAINTEXT, SSL and SASL_SSL listeners of one server, client certificate requested', () => {
  let t: TestServer;
  let dir: string;

  beforeAll(async () => {
    dir = certs.dir;
    const credentialsFile = join(dir, 'users.json');
    writeCredentialsFile(credentialsFile, { scramOnly: { bob: 'bob-secret' } });
    t = await startServer({
      server: {
        port: undefined,
        listeners: [
          { name: 'PLAINTEXT', port: 0 },
          { name: 'SSL', port: 0 },
          { name: 'SASL_SSL', port: 0 },
        ],
        tls: { certFile: certs.server.cert, keyFile: certs.server.key, caFile: certs.ca, clientAuth: 'requested' },
        sasl: { mechanisms: ['SCRAM-SHA-256'], credentialsFile },
        // Clients without a principal of their own (plaintext, or TLS without a certificate) may do
        // anything; certificate and SASL principals go through the ACLs.
        authorizer: { superUsers: ['User:ANONYMOUS'] },
      },
    });
    await t.broker.createTopic('tls-open', { partitions: 1 });
    await t.broker.createTopic('mtls', { partitions: 1 });
    await t.broker.createTopic('sasl-ssl', { partitions: 1 });
  });

  afterAll(async () => {
    await t?.close();
  });

  it('binds every listener, and Metadata advertises the address of the listener the client came through', async () => {
    expect(t.server.addresses.map((address) => address.name)).toEqual(['PLAINTEXT', 'SSL', 'SASL_SSL']);
    const plaintext = portOf(t, 'PLAINTEXT');
    const ssl = portOf(t, 'SSL');
    expect(new Set([plaintext, ssl, portOf(t, 'SASL_SSL')]).size).toBe(3);
    const overPlaintext = JSON.parse((await kcat(['-b', `127.0.0.1:${plaintext}`, '-L', '-J'])).stdout);
    expect(overPlaintext.brokers).toEqual([{ id: 0, name: `127.0.0.1:${plaintext}` }]);
    const overSsl = JSON.parse((await kcat(['-b', `127.0.0.1:${ssl}`, ...sslArgs(), '-L', '-J'])).stdout);
    expect(overSsl.brokers).toEqual([{ id: 0, name: `127.0.0.1:${ssl}` }]);
  });

  it("DescribeConfigs lists every listener, as Kafka's listeners and advertised.listeners", async () => {
    const admin = kafkajsPlain([`127.0.0.1:${portOf(t, 'PLAINTEXT')}`]).admin();
    await admin.connect();
    const { resources } = await admin.describeConfigs({ resources: [{ type: ConfigResourceTypes.BROKER, name: '0' }], includeSynonyms: false });
    await admin.disconnect();
    const value = (name: string) => resources[0].configEntries.find((entry) => entry.configName === name)?.configValue;
    const expected = ['PLAINTEXT', 'SSL', 'SASL_SSL'].map((name) => `${name}://127.0.0.1:${portOf(t, name)}`).join(',');
    expect(value('listeners')).toBe(expected);
    expect(value('advertised.listeners')).toBe(expected);
    expect(value('ssl.client.auth')).toBe('requested');
  });

  it('kcat produces and consumes over SSL without a client certificate', async () => {
    const bootstrap = `127.0.0.1:${portOf(t, 'SSL')}`;
    await kcat(['-b', bootstrap, ...sslArgs(), '-P', '-t', 'tls-open'], { input: 'one\ntwo\nthree\n' });
    const { stdout } = await kcat(['-b', bootstrap, ...sslArgs(), '-C', '-t', 'tls-open', '-o', 'beginning', '-c', '3', '-e', '-q', '-f', '%s\n']);
    expect(stdout).toBe('one\ntwo\nthree\n');
  });

  it('hands out fetch responses of many large chunks intact over SSL', async () => {
    // Segment bytes of 64 KiB and more go to TLS in writes of their own; every byte must still arrive in order.
    await t.broker.createTopic('tls-large', { partitions: 1 });
    const values = Array.from({ length: 48 }, (_, i) => randomBytes(96 * 1024).toString('hex').slice(0, 150_000 + i));
    const plaintext = kafkajsPlain([`127.0.0.1:${portOf(t, 'PLAINTEXT')}`]).producer();
    await plaintext.connect();
    for (const value of values) await plaintext.send({ topic: 'tls-large', messages: [{ value }] });
    await plaintext.disconnect();
    const { stdout } = await kcat(
      ['-b', `127.0.0.1:${portOf(t, 'SSL')}`, ...sslArgs(), '-C', '-t', 'tls-large', '-o', 'beginning', '-c', String(values.length), '-e', '-q', '-f', '%s\n', '-X', 'fetch.max.bytes=8388608'],
    );
    expect(stdout).toBe(values.map((value) => `${value}\n`).join(''));
  });

  it('kafkajs produces and consumes over SSL', async () => {
    const kafka = kafkajsSsl([`127.0.0.1:${portOf(t, 'SSL')}`]);
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic: 'tls-open', messages: [{ key: 'k', value: 'from-kafkajs' }] });
    await producer.disconnect();
    const consumer = kafka.consumer({ groupId: 'tls-kafkajs' });
    await consumer.connect();
    await consumer.subscribe({ topic: 'tls-open', fromBeginning: true });
    const seen: string[] = [];
    await consumer.run({ eachMessage: async ({ message }) => void seen.push(message.value!.toString()) });
    await eventually(() => seen.includes('from-kafkajs'), { what: 'kafkajs consuming over SSL' });
    await consumer.disconnect();
  });

  it("a client certificate's subject is the principal the ACLs see, in Kafka's RFC 2253 form", async () => {
    const bootstrap = `127.0.0.1:${portOf(t, 'SSL')}`;
    const kafka = kafkajsSsl([bootstrap], certs.client);
    const producer = kafka.producer();
    await producer.connect();
    await expect(producer.send({ topic: 'mtls', messages: [{ value: 'refused' }] })).rejects.toThrow(/authorized/i);
    t.broker.createAcls([allow(CERT_PRINCIPAL, ResourceType.TOPIC, 'mtls')]);
    await producer.send({ topic: 'mtls', messages: [{ value: 'by-certificate' }] });
    await producer.disconnect();
    // kcat with the same certificate: librdkafka's view of the same principal.
    await kcat(['-b', bootstrap, ...sslArgs(certs.client), '-P', '-t', 'mtls'], { input: 'by-kcat\n' });
    const { stdout } = await kcat(['-b', bootstrap, ...sslArgs(certs.client), '-C', '-t', 'mtls', '-o', 'beginning', '-c', '2', '-e', '-q', '-f', '%s\n']);
    expect(stdout).toBe('by-certificate\nby-kcat\n');
  });

  it('SASL_SSL: the SASL user is the principal, with kcat (SCRAM-SHA-256) and kafkajs', async () => {
    const bootstrap = `127.0.0.1:${portOf(t, 'SASL_SSL')}`;
    const auth = ['-X', 'security.protocol=sasl_ssl', '-X', `ssl.ca.location=${certs.ca}`, '-X', 'sasl.mechanisms=SCRAM-SHA-256', '-X', 'sasl.username=bob', '-X', 'sasl.password=bob-secret'];
    // No ACL for User:bob yet: librdkafka reports the authorization failure.
    await expect(kcat(['-b', bootstrap, ...auth, '-P', '-t', 'sasl-ssl'], { input: 'refused\n' })).rejects.toThrow(/authoriz/i);
    t.broker.createAcls([allow('User:bob', ResourceType.TOPIC, 'sasl-ssl')]);
    await kcat(['-b', bootstrap, ...auth, '-P', '-t', 'sasl-ssl'], { input: 'by-bob\n' });
    const { stdout } = await kcat(['-b', bootstrap, ...auth, '-C', '-t', 'sasl-ssl', '-o', 'beginning', '-c', '1', '-e', '-q', '-f', '%s\n']);
    expect(stdout).toBe('by-bob\n');
    const producer = kafkajsSsl([bootstrap], undefined, { username: 'bob', password: 'bob-secret' }).producer();
    await producer.connect();
    await producer.send({ topic: 'sasl-ssl', messages: [{ value: 'by-kafkajs' }] });
    await producer.disconnect();
    await expect(kafkajsSsl([bootstrap], undefined, { username: 'bob', password: 'wrong' }).admin().connect()).rejects.toThrow(/SASL|authentication/i);
  });

  it('refuses a client certificate from another CA, and an expired one, with a log line; others go on', async () => {
    const port = portOf(t, 'SSL');
    const steady = await TestClient.connect(portOf(t, 'PLAINTEXT'));
    for (const [pair, reason] of [
      [certs.otherCaClient, 'client certificate refused: UNABLE_TO_VERIFY_LEAF_SIGNATURE'],
      [certs.expiredClient, 'client certificate refused: CERT_HAS_EXPIRED'],
    ] as const) {
      const socket = connectTls({ host: '127.0.0.1', port, ca: readFileSync(certs.ca), cert: readFileSync(pair.cert), key: readFileSync(pair.key) });
      await within(tlsClosed(socket), { what: `the server closing a connection with ${pair.cert}` });
      await eventually(() => t.logger.warns.some((line) => line.includes(reason)), { what: `the log line "${reason}"` });
    }
    expect((await steady.send(ApiVersions, 3, { clientSoftwareName: 'steady', clientSoftwareVersion: '1' })).errorCode).toBe(0);
    steady.close();
  });
});

describe('principal mapping rules without DEFAULT', () => {
  it('refuses a valid certificate no rule maps, with a log line, and serves one a rule maps', async () => {
    const t = await startServer({
      server: {
        port: undefined,
        listeners: [{ name: 'SSL', port: 0 }],
        tls: { certFile: certs.server.cert, keyFile: certs.server.key, caFile: certs.ca, clientAuth: 'required', principalMappingRules: 'RULE:^CN=(.*?),OU=ops,.*$/$1/L' },
        authorizer: { superUsers: ['User:client'] },
      },
    });
    try {
      const port = portOf(t, 'SSL');
      const robot = connectTls({ host: '127.0.0.1', port, ca: readFileSync(certs.ca), cert: readFileSync(certs.robotClient.cert), key: readFileSync(certs.robotClient.key) });
      await within(tlsClosed(robot), { what: 'the server closing the unmapped client' });
      await eventually(() => t.logger.warns.some((line) => line.includes('no principalMappingRules rule applies to the client certificate subject CN=robot,O=acme')), {
        what: 'the unmapped-subject log line',
      });
      // CN=client,OU=ops,... maps to "client", a super user.
      const admin = kafkajsSsl([`127.0.0.1:${port}`], certs.client).admin();
      await admin.connect();
      await admin.createTopics({ topics: [{ topic: 'mapped', numPartitions: 1 }] });
      await admin.disconnect();
    } finally {
      await t.close();
    }
  });
});

describe('binding and closing', () => {
  it('a client that resets mid-handshake is logged and gives its place back (connectionsMaxPerIp)', async () => {
    const t = await startServer({
      server: {
        port: undefined,
        listeners: [{ name: 'SSL', port: 0 }],
        // Far off: the reset itself must be noticed, not the deadline.
        tls: { certFile: certs.server.cert, keyFile: certs.server.key, handshakeTimeoutMs: 600_000 },
        connectionsMaxPerIp: 2,
      },
    });
    try {
      for (let i = 0; i < 5; i++) {
        const socket = connectTcp({ host: '127.0.0.1', port: portOf(t, 'SSL') });
        socket.on('error', () => undefined);
        await new Promise((resolve) => socket.once('connect', resolve));
        // The first bytes of a TLS record header, then a reset.
        socket.write(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]));
        socket.resetAndDestroy();
        await eventually(() => t.logger.warns.filter((line) => line.includes('the client closed the connection before the handshake finished')).length === i + 1, {
          what: `reset ${i + 1} being logged`,
        });
      }
      await eventually(() => t.server.tlsHandshakeCount === 0, { what: 'no handshake left in progress' });
      // Five connections came and went from this address; with two allowed, a sixth is still served.
      const admin = kafkajsSsl([`127.0.0.1:${portOf(t, 'SSL')}`]).admin();
      await admin.connect();
      await admin.listTopics();
      await admin.disconnect();
    } finally {
      await t.close();
    }
  });

  it('close() drops a handshake in progress at once, not at the handshake deadline', async () => {
    const t = await startServer({
      server: {
        port: undefined,
        listeners: [{ name: 'SSL', port: 0 }],
        tls: { certFile: certs.server.cert, keyFile: certs.server.key, handshakeTimeoutMs: 600_000 },
      },
    });
    const silent = connectTcp({ host: '127.0.0.1', port: portOf(t, 'SSL') });
    silent.on('error', () => undefined);
    const closed = new Promise((resolve) => silent.once('close', resolve));
    await new Promise((resolve) => silent.once('connect', resolve));
    await eventually(() => t.server.tlsHandshakeCount === 1, { what: 'the handshake being tracked' });
    await within(t.close(), { what: 'the server closing with a handshake in progress' });
    await within(closed, { what: 'the silent connection being dropped' });
  });

  it('a listener that cannot bind fails listen(), and leaves no other listener bound', async () => {
    const holder = await startServer();
    // A port free a moment ago, for the listener that does bind before the other fails.
    const probe = createTcpServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const freePort = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const server = new KafkaServer(holder.broker, {
      listeners: [
        { name: 'PLAINTEXT', port: freePort },
        { name: 'SSL', port: holder.port },
      ],
      tls: { certFile: certs.server.cert, keyFile: certs.server.key },
    });
    await expect(server.listen()).rejects.toThrow(/EADDRINUSE/);
    expect(server.addresses).toEqual([]);
    const refused = connectTcp({ host: '127.0.0.1', port: freePort });
    await expect(new Promise((resolve, reject) => refused.once('connect', resolve).once('error', reject))).rejects.toThrow(/ECONNREFUSED/);
    await holder.close();
  });
});

describe('an SSL listener requiring client certificates, beside a PLAINTEXT one', () => {
  let t: TestServer;

  // The served files are copies, so the reload test can replace them.
  beforeAll(async () => {
    copyFileSync(certs.server.cert, join(certs.dir, 'served.pem'));
    copyFileSync(certs.server.key, join(certs.dir, 'served.key'));
    t = await startServer({
      server: {
        port: undefined,
        listeners: [
          { name: 'SSL', port: 0, advertisedHost: 'localhost' },
          { name: 'PLAINTEXT', port: 0 },
        ],
        tls: {
          certFile: join(certs.dir, 'served.pem'),
          keyFile: join(certs.dir, 'served.key'),
          caFile: certs.ca,
          clientAuth: 'required',
          // "CN=client,OU=ops,O=acme,C=US" becomes client@ops; anything else keeps its whole name.
          principalMappingRules: 'RULE:^CN=(.*?),OU=(.*?),O=.*$/$1@$2/L, DEFAULT',
          handshakeTimeoutMs: 1_000,
        },
        authorizer: { superUsers: ['User:client@ops'] },
      },
    });
  });

  afterAll(async () => {
    await t?.close();
  });

  it('serves a client with a certificate, under the principal the mapping rule gives', async () => {
    const ssl = portOf(t, 'SSL');
    // The mapped principal is a super user: it may create a topic without any ACL.
    const admin = kafkajsSsl([`127.0.0.1:${ssl}`], certs.client).admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: 'required', numPartitions: 1 }] });
    expect(await admin.listTopics()).toContain('required');
    await admin.disconnect();
    await kcat(['-b', `127.0.0.1:${ssl}`, ...sslArgs(certs.client), '-P', '-t', 'required'], { input: 'm1\n' });
    const { stdout } = await kcat(['-b', `127.0.0.1:${ssl}`, ...sslArgs(certs.client), '-C', '-t', 'required', '-c', '1', '-e', '-q', '-f', '%s\n']);
    expect(stdout).toBe('m1\n');
  });

  it('advertises the SSL listener under its advertised host', async () => {
    const overSsl = JSON.parse((await kcat(['-b', `127.0.0.1:${portOf(t, 'SSL')}`, ...sslArgs(certs.client), '-L', '-J'])).stdout);
    expect(overSsl.brokers).toEqual([{ id: 0, name: `localhost:${portOf(t, 'SSL')}` }]);
  });

  it('closes a connection without a client certificate, and one from another CA (kafkajs is refused)', async () => {
    const socket = connectTls({ host: '127.0.0.1', port: portOf(t, 'SSL'), ca: readFileSync(certs.ca) });
    await within(tlsClosed(socket), { what: 'the server closing a connection without a certificate' });
    await eventually(() => t.logger.warns.some((line) => line.includes('no client certificate, and clientAuth is required')), {
      what: 'the missing-certificate log line',
    });
    const refused = kafkajsSsl([`127.0.0.1:${portOf(t, 'SSL')}`], certs.otherCaClient).admin();
    await expect(refused.connect()).rejects.toThrow();
  });

  it('a plaintext client on the TLS port fails cleanly, and the plaintext listener keeps serving', async () => {
    const wrong = await TestClient.connect(portOf(t, 'SSL'));
    const answer = wrong.sendRaw(wrong.frame(ApiVersions, 3, { clientSoftwareName: 'plain', clientSoftwareVersion: '1' }));
    await expect(within(answer, { what: 'the TLS listener closing a plaintext client' })).rejects.toThrow('connection closed');
    await eventually(() => t.logger.warns.some((line) => line.includes('handshake failed') && line.includes('is not speaking TLS')), {
      what: 'the plaintext-client log line',
    });
    const { stdout } = await kcat(['-b', `127.0.0.1:${portOf(t, 'PLAINTEXT')}`, '-L', '-J']);
    expect(JSON.parse(stdout).brokers).toEqual([{ id: 0, name: `127.0.0.1:${portOf(t, 'PLAINTEXT')}` }]);
  });

  it('closes a connection whose handshake never starts at the handshake deadline, leaving the others', async () => {
    const steady = kafkajsSsl([`127.0.0.1:${portOf(t, 'SSL')}`], certs.client).admin();
    await steady.connect();
    const silent = connectTcp({ host: '127.0.0.1', port: portOf(t, 'SSL') });
    silent.on('error', () => undefined);
    await within(new Promise((resolve) => silent.once('close', resolve)), { what: 'the silent connection being closed' });
    await eventually(() => t.logger.warns.some((line) => line.includes('ERR_TLS_HANDSHAKE_TIMEOUT') && line.includes('handshakeTimeoutMs 1000')), {
      what: 'the handshake-timeout log line',
    });
    expect(await steady.listTopics()).toContain('required');
    await steady.disconnect();
  });

  it('reloadTls serves a renewed certificate to new connections, without closing open ones', async () => {
    const port = portOf(t, 'SSL');
    const options = { host: '127.0.0.1', port, ca: readFileSync(certs.ca), cert: readFileSync(certs.client.cert), key: readFileSync(certs.client.key) };
    const before = connectTls(options);
    await new Promise((resolve) => before.once('secureConnect', resolve));
    expect(before.getPeerX509Certificate()!.subject).toBe('CN=sluice-server');
    copyFileSync(certs.renewedServer.cert, join(certs.dir, 'served.pem'));
    copyFileSync(certs.renewedServer.key, join(certs.dir, 'served.key'));
    t.server.reloadTls();
    const after = connectTls(options);
    await new Promise((resolve) => after.once('secureConnect', resolve));
    expect(after.getPeerX509Certificate()!.subject).toBe('CN=sluice-renewed');
    expect(before.destroyed).toBe(false);
    before.destroy();
    after.destroy();
    // Files that do not fit together are refused, and the current certificate stays.
    copyFileSync(certs.server.key, join(certs.dir, 'served.key'));
    expect(() => t.server.reloadTls()).toThrow(/do not make a usable certificate/);
    const still = connectTls(options);
    await new Promise((resolve) => still.once('secureConnect', resolve));
    expect(still.getPeerX509Certificate()!.subject).toBe('CN=sluice-renewed');
    still.destroy();
  });
});
