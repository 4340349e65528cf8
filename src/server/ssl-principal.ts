/**
 * The principal of a client authenticated by its TLS certificate, as Kafka's
 * DefaultKafkaPrincipalBuilder builds it: "User:" + the certificate subject as Java's
 * X500Principal.getName() prints it (RFC 2253: most specific name first, "CN=client,OU=ops,O=acme"),
 * passed through the ssl.principal.mapping.rules (SslPrincipalMapper). A connection without a
 * verified client certificate is User:ANONYMOUS.
 *
 * The subject is read from the certificate's DER bytes rather than from Node's printed subject,
 * which is in OpenSSL's order and escaping: ACLs written for Kafka name principals in Java's form.
 */
import { InvalidConfigError } from '../errors.js';

// ---- The subject distinguished name, in RFC 2253 form ----

interface Tlv {
  tag: number;
  /** Offset of the value's first byte. */
  start: number;
  /** Offset just past the value. */
  end: number;
}

const TAG_SEQUENCE = 0x30;
const TAG_SET = 0x31;
const TAG_OID = 0x06;
const TAG_CONTEXT_0 = 0xa0;

/** The attribute keywords Java prints in RFC 2253 form; any other attribute is printed as its OID. */
const KEYWORDS: ReadonlyMap<string, string> = new Map([
  ['2.5.4.3', 'CN'],
  ['2.5.4.6', 'C'],
  ['2.5.4.7', 'L'],
  ['2.5.4.8', 'ST'],
  ['2.5.4.9', 'STREET'],
  ['2.5.4.10', 'O'],
  ['2.5.4.11', 'OU'],
  ['0.9.2342.19200300.100.1.25', 'DC'],
  ['0.9.2342.19200300.100.1.1', 'UID'],
]);

/** Characters RFC 2253 output escapes with a backslash wherever they appear (Java's AVA escapees). */
const ESCAPED = new Set([',', '=', '+', '<', '>', '#', ';', '"', '\\']);

function readTlv(der: Buffer, offset: number, limit: number): Tlv {
  if (offset + 2 > limit) throw new Error('truncated DER');
  const tag = der[offset];
  let length = der[offset + 1];
  let start = offset + 2;
  if (length & 0x80) {
    const lengthBytes = length & 0x7f;
    if (lengthBytes === 0 || lengthBytes > 4 || start + lengthBytes > limit) throw new Error('bad DER length');
    length = 0;
    for (let i = 0; i < lengthBytes; i++) length = length * 256 + der[start + i];
    start += lengthBytes;
  }
  const end = start + length;
  if (end > limit) throw new Error('truncated DER');
  return { tag, start, end };
}

function decodeOid(der: Buffer, tlv: Tlv): string {
  const parts: number[] = [];
  let value = 0;
  for (let i = tlv.start; i < tlv.end; i++) {
    value = value * 128 + (der[i] & 0x7f);
    if ((der[i] & 0x80) === 0) {
      if (parts.length === 0) {
        const first = value < 80 ? Math.floor(value / 40) : 2;
        parts.push(first, value - first * 40);
      } else {
        parts.push(value);
      }
      value = 0;
    }
  }
  return parts.join('.');
}

/** The text of a directory string, or null for a value type Java prints as hex. */
function decodeString(der: Buffer, tlv: Tlv): string | null {
  const bytes = der.subarray(tlv.start, tlv.end);
  switch (tlv.tag) {
    case 0x0c: // UTF8String
      return bytes.toString('utf8');
    case 0x13: // PrintableString
    case 0x16: // IA5String
    case 0x1b: // GeneralString
      return bytes.toString('latin1');
    case 0x14: // TeletexString (T61), read as Latin-1 as Java does
      return bytes.toString('latin1');
    case 0x1e: // BMPString, UCS-2 big-endian
      return Buffer.from(bytes).swap16().toString('utf16le');
    default:
      return null;
  }
}

function escapeValue(value: string): string {
  let out = '';
  for (const c of value) out += ESCAPED.has(c) ? `\\${c}` : c === '\u0000' ? '\\00' : c;
  // A leading space and a trailing space are escaped too ('#' already is, wherever it is).
  if (out.startsWith(' ')) out = `\\${out}`;
  if (out.endsWith(' ') && !out.endsWith('\\ ')) out = `${out.slice(0, -1)}\\ `;
  return out;
}

function formatAttribute(der: Buffer, attribute: Tlv): string {
  const oid = readTlv(der, attribute.start, attribute.end);
  if (oid.tag !== TAG_OID) throw new Error('attribute without a type');
  const type = decodeOid(der, oid);
  const value = readTlv(der, oid.end, attribute.end);
  const keyword = KEYWORDS.get(type);
  const text = keyword === undefined ? null : decodeString(der, value);
  if (keyword === undefined || text === null) {
    // RFC 2253 2.4: a value without a string form is '#' and the hex of its whole BER encoding.
    const headerStart = oid.end;
    return `${keyword ?? type}=#${der.subarray(headerStart, value.end).toString('hex')}`;
  }
  return `${keyword}=${escapeValue(text)}`;
}

/**
 * The subject of a DER certificate in RFC 2253 form as Java's X500Principal.getName() prints it:
 * relative distinguished names most specific first, ',' between them, '+' inside a multi-valued
 * one, known attributes by keyword and others as OID=#hex.
 */
export function subjectDistinguishedName(certificateDer: Buffer): string {
  const certificate = readTlv(certificateDer, 0, certificateDer.length);
  const tbs = readTlv(certificateDer, certificate.start, certificate.end);
  if (certificate.tag !== TAG_SEQUENCE || tbs.tag !== TAG_SEQUENCE) throw new Error('not an X.509 certificate');
  let at = tbs.start;
  let field = readTlv(certificateDer, at, tbs.end);
  // version [0] (absent in v1 certificates), serialNumber, signature, issuer, validity, subject
  if (field.tag === TAG_CONTEXT_0) at = field.end;
  for (let skip = 0; skip < 4; skip++) at = readTlv(certificateDer, at, tbs.end).end;
  const subject = readTlv(certificateDer, at, tbs.end);
  if (subject.tag !== TAG_SEQUENCE) throw new Error('certificate subject is not a Name');
  const rdns: string[] = [];
  for (let rdnAt = subject.start; rdnAt < subject.end; ) {
    const rdn = readTlv(certificateDer, rdnAt, subject.end);
    if (rdn.tag !== TAG_SET) throw new Error('relative distinguished name is not a SET');
    const attributes: string[] = [];
    for (let attributeAt = rdn.start; attributeAt < rdn.end; ) {
      field = readTlv(certificateDer, attributeAt, rdn.end);
      attributes.push(formatAttribute(certificateDer, field));
      attributeAt = field.end;
    }
    rdns.push(attributes.join('+'));
    rdnAt = rdn.end;
  }
  return rdns.reverse().join(',');
}

// ---- ssl.principal.mapping.rules ----

interface MappingRule {
  /** DEFAULT: the distinguished name as it is. */
  readonly pattern: RegExp | null;
  /** The pattern anchored at both ends: a rule applies only when it matches the whole name (Java's matches()). */
  readonly whole: RegExp | null;
  readonly replacement: string;
  readonly groupCount: number;
  readonly caseChange: '' | 'L' | 'U';
  readonly text: string;
}

/** Kafka's rule grammar (SslPrincipalMapper.RULE_PATTERN): DEFAULT, or RULE:pattern/replacement/[LU]. */
const RULE = /\s*(?:(DEFAULT)|RULE:((?:\\.|[^\\/])*)\/((?:\\.|[^\\/])*)\/([LU]?)|)\s*(?:,|$)/y;

/**
 * Kafka's SslPrincipalMapper: an ordered list of rules, the first that matches the whole
 * distinguished name gives the principal name. "RULE:^CN=(.*?),OU=(.*?)$/$1/L" takes the CN in
 * lower case; DEFAULT (the default rules) keeps the whole name. No rule matching refuses the client.
 */
export class SslPrincipalMapper {
  readonly rules: readonly MappingRule[];

  constructor(rules = 'DEFAULT') {
    if (typeof rules !== 'string') throw new InvalidConfigError('principalMappingRules must be a string such as "RULE:^CN=(.*?),.*$/$1/,DEFAULT"');
    const parsed: MappingRule[] = [];
    const text = rules.trim();
    RULE.lastIndex = 0;
    while (RULE.lastIndex < text.length) {
      const start = RULE.lastIndex;
      const match = RULE.exec(text);
      if (match === null) {
        throw new InvalidConfigError(
          `principalMappingRules: cannot read the rule at "${text.slice(start)}"; each rule is DEFAULT or RULE:pattern/replacement/ with an optional L or U, separated by commas`,
        );
      }
      // As Kafka, empty rules between commas are ignored.
      if (match[2] === undefined && match[1] === undefined) continue;
      if (match[1] !== undefined) {
        parsed.push({ pattern: null, whole: null, replacement: '', groupCount: 0, caseChange: '', text: 'DEFAULT' });
        continue;
      }
      let pattern: RegExp;
      try {
        pattern = new RegExp(match[2], 'g');
      } catch (error) {
        throw new InvalidConfigError(`principalMappingRules: ${JSON.stringify(match[2])} is not a regular expression: ${(error as Error).message}`);
      }
      const groupCount = new RegExp(`${match[2]}|`).exec('')!.length - 1;
      parsed.push({ pattern, whole: new RegExp(`^(?:${match[2]})$`), replacement: match[3], groupCount, caseChange: match[4] as '' | 'L' | 'U', text: `RULE:${match[2]}/${match[3]}/${match[4]}` });
    }
    if (parsed.length === 0) throw new InvalidConfigError('principalMappingRules lists no rule; use DEFAULT for the whole distinguished name');
    this.rules = Object.freeze(parsed);
  }

  /** The principal name for a distinguished name, or null when no rule applies (the client is refused). */
  map(distinguishedName: string): string | null {
    for (const rule of this.rules) {
      if (rule.pattern === null || rule.whole === null) return distinguishedName;
      if (!rule.whole.test(distinguishedName)) continue;
      const result = distinguishedName.replace(rule.pattern, (...args: unknown[]) =>
        javaReplacement(rule.replacement, args.slice(0, rule.groupCount + 1) as (string | undefined)[]),
      );
      return rule.caseChange === 'L' ? result.toLowerCase() : rule.caseChange === 'U' ? result.toUpperCase() : result;
    }
    return null;
  }
}

/**
 * A replacement as Java's Matcher.appendReplacement reads it, after Kafka's escape of back
 * references to groups that do not exist: "\x" is x, "$n" the group (digits taken while the number
 * names a group), and "$n" naming no group is literal text.
 */
function javaReplacement(replacement: string, groups: readonly (string | undefined)[]): string {
  const groupCount = groups.length - 1;
  let out = '';
  for (let i = 0; i < replacement.length; i++) {
    const c = replacement[i];
    if (c === '\\' && i + 1 < replacement.length) {
      out += replacement[++i];
    } else if (c === '$' && /[0-9]/.test(replacement[i + 1] ?? '')) {
      let group = Number(replacement[i + 1]);
      if (group > groupCount) {
        out += c;
        continue;
      }
      i++;
      while (/[0-9]/.test(replacement[i + 1] ?? '') && group * 10 + Number(replacement[i + 1]) <= groupCount) {
        group = group * 10 + Number(replacement[++i]);
      }
      out += groups[group] ?? '';
    } else {
      out += c;
    }
  }
  return out;
}
