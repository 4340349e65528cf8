/**
 * The parts of TLS that need no socket: certificate subjects printed as Java's X500Principal
 * prints them (certificates made by openssl), Kafka's SslPrincipalMapper rules (its own test
 * cases), the listener and tls options refused with the setting named, and Kafka's NAME://host:port.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidConfigError } from '../../src/errors.js';
import { parseListener, resolveServerConfig } from '../../src/server/config.js';
import { SslPrincipalMapper, subjectDistinguishedName } from '../../src/server/ssl-principal.js';
import { makeTestCertificates, type TestCertificates } from '../../bench/tls-certs.js';

let certs: TestCertificates;

beforeAll(() => {
  certs = makeTestCertificates();
});

afterAll(() => certs?.remove());

function selfSigned(subject: string): Buffer {
  const name = `s${Math.random().toString(36).slice(2)}`;
  execFileSync(
    'openssl',
    ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-subj', subject, '-days', '1', '-utf8'],
    { cwd: certs.dir, stdio: 'ignore' },
  );
  return new X509Certificate(readFileSync(join(certs.dir, `${name}.pem`))).raw;
}

describe('subjectDistinguishedName', () => {
  it('lists the most specific name first, as RFC 2253 and Java do', () => {
    const client = new X509Certificate(readFileSync(certs.client.cert));
    expect(subjectDistinguishedName(client.raw)).toBe('CN=client,OU=ops,O=acme,C=US');
  });

  it('escapes the characters RFC 2253 reserves, and a leading #', () => {
    expect(subjectDistinguishedName(selfSigned('/DC=cz/DC=geodis/OU=ITZ/CN=Tkac, Adam'))).toBe('CN=Tkac\\, Adam,OU=ITZ,DC=geodis,DC=cz');
    expect(subjectDistinguishedName(selfSigned('/CN=#a\\+b;c<d>e="f"'))).toBe('CN=\\#a\\+b\\;c\\<d\\>e\\=\\"f\\"');
  });

  it('keeps UTF-8 text, and prints an attribute without a keyword as OID=#hex of its encoding', () => {
    expect(subjectDistinguishedName(selfSigned('/L=Zürich/CN=ü'))).toBe('CN=ü,L=Zürich');
    // emailAddress (1.2.840.113549.1.9.1) is an IA5String: tag 0x16, length 5, "a@b.c".
    expect(subjectDistinguishedName(selfSigned('/CN=x/emailAddress=a@b.c'))).toBe('1.2.840.113549.1.9.1=#16056140622e63,CN=x');
  });

  it('refuses bytes that are not a certificate', () => {
    expect(() => subjectDistinguishedName(Buffer.from([0x30, 0x05, 0x01]))).toThrow(/truncated DER/);
  });
});

describe('SslPrincipalMapper (the cases of Kafka\'s SslPrincipalMapperTest)', () => {
  it('maps with the first rule that matches the whole name', () => {
    const mapper = new SslPrincipalMapper(
      [
        'RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L',
        'RULE:^CN=(.*?),OU=(.*?),O=(.*?),L=(.*?),ST=(.*?),C=(.*?)$/$1@$2/L',
        'RULE:^cn=(.*?),ou=(.*?),dc=(.*?),dc=(.*?)$/$1@$2/U',
        'RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/U',
        'DEFAULT',
      ].join(', '),
    );
    expect(mapper.map('CN=Duke,OU=ServiceUsers,O=Org,C=US')).toBe('duke');
    expect(mapper.map('CN=Duke,OU=SME,O=mycp,L=Fulton,ST=MD,C=US')).toBe('duke@sme');
    expect(mapper.map('cn=duke,ou=sme,dc=mycp,dc=com')).toBe('DUKE@SME');
    expect(mapper.map('cN=duke,OU=JavaSoft,O=Sun Microsystems')).toBe('DUKE');
    expect(mapper.map('OU=JavaSoft,O=Sun Microsystems,C=US')).toBe('OU=JavaSoft,O=Sun Microsystems,C=US');
  });

  it('reads escaped commas in a pattern, ignores empty rules, and maps nothing when no rule matches', () => {
    const mapper = new SslPrincipalMapper('RULE:^CN=((\\\\, *|\\w)+)(,.*|$)/$1/,DEFAULT');
    expect(mapper.map('CN=Tkac\\, Adam,OU=ITZ,DC=geodis,DC=cz')).toBe('Tkac\\, Adam');
    expect(new SslPrincipalMapper(',,RULE://,,,DEFAULT,,').rules.map((rule) => rule.text)).toEqual(['RULE://', 'DEFAULT']);
    expect(new SslPrincipalMapper('RULE:^CN=(.*)$/$1/').map('OU=x')).toBeNull();
    // A back reference to a group that does not exist is literal text, as Kafka escapes it.
    expect(new SslPrincipalMapper('RULE:^CN=(.*)$/$1-$2/').map('CN=a')).toBe('a-$2');
  });

  it('accepts the rules Kafka accepts and refuses the ones it refuses', () => {
    for (const rules of [
      'DEFAULT',
      'RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/',
      'RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L, DEFAULT',
      'RULE:^.*[Cc][Nn]=([a-zA-Z0-9.]*).*$/$1/L',
      'RULE:^CN=([^,ADEFLTU,]+)(,.*|$)/$1/',
    ]) {
      expect(() => new SslPrincipalMapper(rules), rules).not.toThrow();
    }
    for (const rules of [
      'default',
      'DEFAUL',
      'DEFAULT/L',
      'RULE:CN=(.*?),OU=ServiceUsers.*/$1',
      'rule:^CN=(.*?),OU=ServiceUsers.*$/$1/',
      'RULE:^CN=(.*?),OU=ServiceUsers.*$/$1/L/U',
      'RULE:^CN=(.*?),OU=ServiceUsers.*$/LU',
    ]) {
      expect(() => new SslPrincipalMapper(rules), rules).toThrow(InvalidConfigError);
    }
  });
});

describe('listener and tls options', () => {
  it('makes one PLAINTEXT (or SASL_PLAINTEXT) listener of host and port', () => {
    expect(resolveServerConfig({ port: 9000 }).listeners).toEqual([
      { name: 'PLAINTEXT', host: '127.0.0.1', port: 9000, advertisedHost: '127.0.0.1', advertisedPort: null, tls: false, sasl: false },
    ]);
    expect(resolveServerConfig({ sasl: { mechanisms: ['PLAIN'], credentialsFile: 'users.json' } }).listeners[0].name).toBe('SASL_PLAINTEXT');
  });

  it('refuses listener and tls settings that cannot work, naming the fix', () => {
    const tls = { certFile: certs.server.cert, keyFile: certs.server.key };
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ listeners: [{ name: 'SSL', port: 0 }] }, /SSL or SASL_SSL listener needs tls/],
      [{ listeners: [{ name: 'PLAINTEXT', port: 0 }], tls }, /tls is given but no listener is SSL or SASL_SSL/],
      [{ listeners: [{ name: 'PLAINTEXT', port: 0 }], sasl: { mechanisms: ['PLAIN'], credentialsFile: 'u.json' } }, /no listener is SASL_PLAINTEXT or SASL_SSL/],
      [{ listeners: [{ name: 'PLAINTEXT', port: 0 }, { name: 'PLAINTEXT', port: 0 }] }, /names PLAINTEXT twice/],
      [{ listeners: [{ name: 'PLAINTEXT', port: 9000 }, { name: 'SSL', port: 9000 }], tls }, /bind port 9000 twice/],
      [{ listeners: [{ name: 'INTERNAL', port: 0 }] }, /not a security protocol/],
      [{ listeners: [{ name: 'PLAINTEXT', port: 0 }], port: 9092 }, /either listeners or host\/port/],
      [{ listeners: [] }, /at least one listener/],
      [{ listeners: [{ name: 'SSL', port: 0 }], tls: { ...tls, clientAuth: 'always' } }, /clientAuth must be one of none, requested, required/],
      [{ listeners: [{ name: 'SSL', port: 0 }], tls: { ...tls, clientAuth: 'required' } }, /needs tls.caFile/],
      [{ listeners: [{ name: 'SSL', port: 0 }], tls: { ...tls, certFile: join(certs.dir, 'missing.pem') } }, /tls.certFile: cannot read/],
      [{ listeners: [{ name: 'SSL', port: 0 }], tls: { ...tls, keyFile: certs.client.key } }, /do not make a usable certificate/],
      [{ listeners: [{ name: 'SSL', port: 0 }], tls: { ...tls, principalMappingRules: 'RULE:x' } }, /principalMappingRules: cannot read the rule/],
    ];
    for (const [options, message] of cases) {
      expect(() => resolveServerConfig(options as never), JSON.stringify(options)).toThrow(message);
    }
  });

  it("parses Kafka's NAME://host:port", () => {
    expect(parseListener('SSL://127.0.0.1:9093')).toEqual({ name: 'SSL', host: '127.0.0.1', port: 9093 });
    expect(parseListener('PLAINTEXT://[::1]:9092')).toEqual({ name: 'PLAINTEXT', host: '::1', port: 9092 });
    expect(parseListener('SASL_SSL://:0')).toEqual({ name: 'SASL_SSL', host: undefined, port: 0 });
    expect(() => parseListener('127.0.0.1:9092')).toThrow(/not NAME:\/\/host:port/);
    expect(() => parseListener('TLS://127.0.0.1:9092')).toThrow(/not a security protocol/);
  });
});
