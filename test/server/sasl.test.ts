/**
 * SASL on the server: PLAIN and SCRAM-SHA-256 with kafkajs and kcat, credentials as passwords
 * and as salted SCRAM keys, wrong passwords refused and the connection closed, requests before
 * authentication refused, and the v0 handshake's bare token frames.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidConfigError } from '../../src/errors.js';
import { ErrorCode } from '../../src/protocol/api/error-codes.js';
import { Metadata } from '../../src/protocol/api/metadata.js';
import { SaslAuthenticate } from '../../src/protocol/api/sasl-authenticate.js';
import { SaslHandshake } from '../../src/protocol/api/sasl-handshake.js';
import { loadCredentials } from '../../src/server/sasl/credentials.js';
import { KafkaServer } from '../../src/server/server.js';
import { TestClient, kcat, startServer, type TestServer } from './helpers.js';
import { within } from '../support/eventually.js';
import { writeCredentialsFile } from '../support/sasl-credentials.js';

let dir: string;
let credentialsFile: string;
let t: TestServer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-sasl-'));
  credentialsFile = join(dir, 'users.json');
  writeCredentialsFile(credentialsFile, { passwords: { alice: 'alice-secret' }, scramOnly: { bob: 'bob-secret' } });
  t = await startServer({ server: { sasl: { mechanisms: ['PLAIN', 'SCRAM-SHA-256'], credentialsFile } } });
  await t.broker.createTopic('secured', { partitions: 1 });
});

afterAll(async () => {
  await t?.close();
  rmSync(dir, { recursive: true, force: true });
});

function kafkajs(mechanism: 'plain' | 'scram-sha-256', username: string, password: string): Kafka {
  return new Kafka({
    clientId: 'sasl-test',
    brokers: [t.bootstrap],
    sasl: { mechanism, username, password } as never,
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
  });
}

describe('SASL with kafkajs', () => {
  for (const [mechanism, user, password] of [
    ['plain', 'alice', 'alice-secret'],
    ['plain', 'bob', 'bob-secret'],
    ['scram-sha-256', 'alice', 'alice-secret'],
    ['scram-sha-256', 'bob', 'bob-secret'],
  ] as const) {
    it(`${mechanism} as ${user} produces and reads metadata`, async () => {
      const producer = kafkajs(mechanism, user, password).producer();
      await producer.connect();
      const [result] = await producer.send({ topic: 'secured', messages: [{ value: `${mechanism}-${user}` }] });
      expect(result.errorCode).toBe(0);
      await producer.disconnect();
    });
  }

  it('refuses a wrong password with SASL_AUTHENTICATION_FAILED', async () => {
    for (const mechanism of ['plain', 'scram-sha-256'] as const) {
      const admin = kafkajs(mechanism, 'alice', 'wrong').admin();
      await expect(admin.connect()).rejects.toThrow(/SASL|authentication/i);
    }
  });
});

describe('SASL with kcat', () => {
  for (const mechanism of ['PLAIN', 'SCRAM-SHA-256']) {
    it(`${mechanism} lists metadata and produces`, async () => {
      const auth = ['-X', 'security.protocol=SASL_PLAINTEXT', '-X', `sasl.mechanisms=${mechanism}`, '-X', 'sasl.username=bob', '-X', 'sasl.password=bob-secret'];
      const { stdout } = await kcat(['-b', t.bootstrap, ...auth, '-L', '-J']);
      expect(JSON.parse(stdout).topics.map((topic: { topic: string }) => topic.topic)).toContain('secured');
      await kcat(['-b', t.bootstrap, ...auth, '-P', '-t', 'secured'], { input: 'one\ntwo\n' });
      const { stdout: consumed } = await kcat(['-b', t.bootstrap, ...auth, '-C', '-t', 'secured', '-e', '-q', '-f', '%s\n']);
      expect(consumed.split('\n')).toEqual(expect.arrayContaining(['one', 'two']));
    });
  }
});

describe('SASL at the protocol level', () => {
  it('closes a connection that sends anything but ApiVersions or SASL before authenticating', async () => {
    const client = await TestClient.connect(t.port);
    const response = client.sendRaw(client.frame(Metadata, 9, { topics: null }));
    // Closed without an answer: no metadata reaches a client that has not authenticated.
    await expect(within(response, { what: 'the connection closing' })).rejects.toThrow('connection closed');
    expect(client.isClosed).toBe(true);
  });

  it('reports an unknown mechanism with the enabled ones, then closes', async () => {
    const client = await TestClient.connect(t.port);
    expect(await client.send(SaslHandshake, 1, { mechanism: 'GSSAPI' })).toEqual({
      errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM,
      mechanisms: ['PLAIN', 'SCRAM-SHA-256'],
    });
    await client.closed;
  });

  it('authenticates through SaslAuthenticate after a v1 handshake, and reports a failure before closing', async () => {
    const good = await TestClient.connect(t.port);
    expect((await good.send(SaslHandshake, 1, { mechanism: 'PLAIN' })).errorCode).toBe(0);
    const ok = await good.send(SaslAuthenticate, 2, { authBytes: Buffer.from('\0alice\0alice-secret') });
    expect(ok).toMatchObject({ errorCode: 0, sessionLifetimeMs: 0 });
    expect((await good.send(Metadata, 9, { topics: [{ name: 'secured' }] })).topics[0].errorCode).toBe(0);
    // Re-authentication is not offered (session lifetime 0): a second handshake is refused and ends the connection.
    expect((await good.send(SaslHandshake, 1, { mechanism: 'PLAIN' })).errorCode).toBe(ErrorCode.ILLEGAL_SASL_STATE);
    await good.closed;

    const bad = await TestClient.connect(t.port);
    await bad.send(SaslHandshake, 1, { mechanism: 'PLAIN' });
    const refused = await bad.send(SaslAuthenticate, 2, { authBytes: Buffer.from('\0alice\0nope') });
    expect(refused.errorCode).toBe(ErrorCode.SASL_AUTHENTICATION_FAILED);
    expect(refused.errorMessage).toMatch(/Authentication failed/);
    await bad.closed;
  });

  it('exchanges bare token frames after a v0 handshake', async () => {
    const client = await TestClient.connect(t.port);
    expect((await client.send(SaslHandshake, 0, { mechanism: 'PLAIN' })).errorCode).toBe(0);
    const token = Buffer.from('\0alice\0alice-secret');
    const frame = Buffer.alloc(4 + token.length);
    frame.writeInt32BE(token.length, 0);
    token.copy(frame, 4);
    expect(await client.sendRaw(frame)).toEqual(Buffer.alloc(0));
    expect((await client.send(Metadata, 9, { topics: [{ name: 'secured' }] })).topics[0].errorCode).toBe(0);
    client.close();
  });
});

describe('credentials file', () => {
  it('is checked when the server is created, naming the file and the problem', () => {
    const file = join(dir, 'bad.json');
    writeFileSync(file, JSON.stringify({ users: { carol: { scramSha256: { salt: 'c2FsdA==', iterations: 100, storedKey: 'x', serverKey: 'y' } } } }));
    expect(() => new KafkaServer(t.broker, { sasl: { mechanisms: ['PLAIN'], credentialsFile: file } })).toThrow(InvalidConfigError);
    expect(() => loadCredentials(file)).toThrow(/iterations must be an integer >= 4096/);
    expect(() => loadCredentials(join(dir, 'absent.json'))).toThrow(/cannot be read/);
  });
});
