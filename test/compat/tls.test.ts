/**
 * A current librdkafka (@confluentinc/kafka-javascript, built from source with the system's
 * OpenSSL) over TLS: produce and consume on an SSL listener that requires a client certificate
 * (the certificate's subject is the principal the ACLs check) and on a SASL_SSL listener with
 * SCRAM-SHA-256, against certificates openssl made for the test.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AclOperation, AclPermissionType, PatternType, ResourceType } from '../../src/broker/acl/acl.js';
import { writeCredentialsFile } from '../support/sasl-credentials.js';
import { startServer, type TestServer } from '../server/helpers.js';
import { makeTestCertificates, type TestCertificates } from '../../bench/tls-certs.js';

const require = createRequire(import.meta.url);
const { KafkaJS } = require('@confluentinc/kafka-javascript') as typeof import('@confluentinc/kafka-javascript');

let certs: TestCertificates;
let t: TestServer;

beforeAll(async () => {
  certs = makeTestCertificates();
  const credentialsFile = join(certs.dir, 'users.json');
  writeCredentialsFile(credentialsFile, { scramOnly: { carol: 'carol-secret' } });
  t = await startServer({
    server: {
      port: undefined,
      listeners: [
        { name: 'SSL', port: 0 },
        { name: 'SASL_SSL', port: 0 },
      ],
      tls: { certFile: certs.server.cert, keyFile: certs.server.key, caFile: certs.ca, clientAuth: 'required' },
      sasl: { mechanisms: ['SCRAM-SHA-256'], credentialsFile },
      authorizer: {},
    },
  });
  for (const topic of ['rdkafka-ssl', 'rdkafka-sasl-ssl']) await t.broker.createTopic(topic, { partitions: 2 });
  const allow = (principal: string, resourceType: number, resourceName: string) => ({
    resourceType,
    resourceName,
    patternType: PatternType.LITERAL,
    principal,
    host: '*',
    operation: AclOperation.ALL,
    permissionType: AclPermissionType.ALLOW,
  });
  t.broker.createAcls([
    allow('User:CN=client,OU=ops,O=acme,C=US', ResourceType.TOPIC, 'rdkafka-ssl'),
    allow('User:CN=client,OU=ops,O=acme,C=US', ResourceType.GROUP, 'rdkafka-ssl-group'),
    allow('User:carol', ResourceType.TOPIC, 'rdkafka-sasl-ssl'),
    allow('User:carol', ResourceType.GROUP, 'rdkafka-sasl-ssl-group'),
  ]);
});

afterAll(async () => {
  await t?.close();
  certs?.remove();
});

async function roundTrip(config: Record<string, string>, topic: string, groupId: string): Promise<string[]> {
  const kafka = new KafkaJS.Kafka({ kafkaJS: { brokers: [config.bootstrap], clientId: 'tls-rdkafka', logLevel: KafkaJS.logLevel.NOTHING } });
  const { bootstrap: _bootstrap, ...librdkafka } = config;
  const producer = kafka.producer({ ...librdkafka, 'linger.ms': 0 });
  await producer.connect();
  const values = Array.from({ length: 20 }, (_, i) => `${topic}-${i}`);
  await producer.send({ topic, messages: values.map((value, i) => ({ key: `k${i}`, value })) });
  await producer.disconnect();
  const consumer = kafka.consumer({ ...librdkafka, kafkaJS: { groupId, fromBeginning: true } });
  await consumer.connect();
  const seen: string[] = [];
  try {
    await consumer.subscribe({ topics: [topic] });
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          eachMessage: async ({ message }) => {
            seen.push(message.value!.toString());
            if (seen.length === values.length) resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return seen.sort();
}

describe('@confluentinc/kafka-javascript over TLS', () => {
  it('produces and consumes on SSL with a client certificate', async () => {
    const port = t.server.addresses.find((address) => address.name === 'SSL')!.port;
    const seen = await roundTrip(
      {
        bootstrap: `127.0.0.1:${port}`,
        'security.protocol': 'ssl',
        'ssl.ca.location': certs.ca,
        'ssl.certificate.location': certs.client.cert,
        'ssl.key.location': certs.client.key,
      },
      'rdkafka-ssl',
      'rdkafka-ssl-group',
    );
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => `rdkafka-ssl-${i}`).sort());
  });

  it('produces and consumes on SASL_SSL with SCRAM-SHA-256', async () => {
    const port = t.server.addresses.find((address) => address.name === 'SASL_SSL')!.port;
    const seen = await roundTrip(
      {
        bootstrap: `127.0.0.1:${port}`,
        'security.protocol': 'sasl_ssl',
        'ssl.ca.location': certs.ca,
        // The SASL_SSL listener asks for a certificate too (clientAuth required applies to every TLS
        // listener), but only User:carol may use the topic: the SASL user is the principal, as in Kafka.
        'ssl.certificate.location': certs.client.cert,
        'ssl.key.location': certs.client.key,
        'sasl.mechanisms': 'SCRAM-SHA-256',
        'sasl.username': 'carol',
        'sasl.password': 'carol-secret',
      },
      'rdkafka-sasl-ssl',
      'rdkafka-sasl-ssl-group',
    );
    expect(seen).toEqual(Array.from({ length: 20 }, (_, i) => `rdkafka-sasl-ssl-${i}`).sort());
  });
});
