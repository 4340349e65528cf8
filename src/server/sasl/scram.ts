/**
 * SASL SCRAM-SHA-256, server side (RFC 5802, RFC 7677), as Kafka's ScramSaslServer runs it:
 *
 *   client-first   gs2-header "n=" user ",r=" client-nonce [extensions]
 *   server-first   "r=" client-nonce server-nonce ",s=" salt ",i=" iterations
 *   client-final   "c=" base64(gs2-header) ",r=" nonce ",p=" base64(ClientProof)
 *   server-final   "v=" base64(ServerSignature)
 *
 * The proof is checked against the stored key: ClientKey = ClientProof XOR HMAC(StoredKey,
 * AuthMessage) must hash to StoredKey. Channel binding is refused ('p'), as Kafka refuses it.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { SaslAuthenticationError } from '../../errors.js';
import { hmacSha256, sha256, type CredentialStore, type ScramCredential } from './credentials.js';
import type { SaslExchange, SaslStep } from './session.js';

const MECHANISM = 'SCRAM-SHA-256';
const NONCE_BYTES = 24;
const PROOF_BYTES = 32;
/** Printable ASCII except ',' (RFC 5802 "printable"), for nonces. */
const PRINTABLE = /^[\x21-\x2b\x2d-\x7e]+$/;

type State = 'client-first' | 'client-final' | 'done';

export class ScramSha256Exchange implements SaslExchange {
  private readonly credentials: CredentialStore;
  private state: State = 'client-first';
  private credential: ScramCredential | null = null;
  private gs2Header = '';
  private clientFirstBare = '';
  private serverFirst = '';
  private nonce = '';
  private user = '';

  constructor(credentials: CredentialStore) {
    this.credentials = credentials;
  }

  step(token: Buffer): SaslStep {
    switch (this.state) {
      case 'client-first':
        return this.clientFirst(token.toString('utf8'));
      case 'client-final':
        return this.clientFinal(token.toString('utf8'));
      case 'done':
        throw fail('the exchange is already complete');
    }
  }

  private clientFirst(message: string): SaslStep {
    // gs2-header: cbind flag, authzid, then the bare message.
    const firstComma = message.indexOf(',');
    const secondComma = firstComma < 0 ? -1 : message.indexOf(',', firstComma + 1);
    if (secondComma < 0) throw fail('the client-first message has no GS2 header');
    const cbindFlag = message.slice(0, firstComma);
    if (cbindFlag !== 'n' && cbindFlag !== 'y') throw fail('channel binding is not supported');
    const authzidField = message.slice(firstComma + 1, secondComma);
    this.gs2Header = message.slice(0, secondComma + 1);
    this.clientFirstBare = message.slice(secondComma + 1);
    const attributes = parseAttributes(this.clientFirstBare);
    if (attributes[0]?.[0] !== 'n' || attributes[1]?.[0] !== 'r') throw fail('the client-first message must start with n= and r=');
    if (attributes.some(([name]) => name === 'm')) throw fail('mandatory extensions are not supported');
    const user = decodeSaslName(attributes[0][1]);
    const clientNonce = attributes[1][1];
    if (!PRINTABLE.test(clientNonce)) throw fail('the client nonce is not printable');
    if (authzidField !== '' && (!authzidField.startsWith('a=') || decodeSaslName(authzidField.slice(2)) !== user)) {
      throw fail('the authorization id differs from the username');
    }
    const credential = this.credentials.get(user)?.scramSha256;
    if (credential === undefined) throw new SaslAuthenticationError(MECHANISM);
    this.credential = credential;
    this.user = user;
    this.nonce = clientNonce + randomBytes(NONCE_BYTES).toString('base64');
    this.serverFirst = `r=${this.nonce},s=${credential.salt.toString('base64')},i=${credential.iterations}`;
    this.state = 'client-final';
    return { token: Buffer.from(this.serverFirst, 'utf8'), done: false };
  }

  private clientFinal(message: string): SaslStep {
    this.state = 'done';
    const proofAt = message.lastIndexOf(',p=');
    if (proofAt < 0) throw fail('the client-final message has no proof');
    const withoutProof = message.slice(0, proofAt);
    const attributes = parseAttributes(withoutProof);
    if (attributes[0]?.[0] !== 'c' || attributes[1]?.[0] !== 'r') throw fail('the client-final message must start with c= and r=');
    if (Buffer.from(attributes[0][1], 'base64').toString('utf8') !== this.gs2Header) throw fail('the channel binding does not match');
    // Kafka's ScramSaslServer accepts a final nonce that ends with the combined nonce, and
    // librdkafka 2.0 relies on it: it sends the client nonce twice.
    if (!attributes[1][1].endsWith(this.nonce)) throw fail('the nonce does not match');
    const proof = Buffer.from(message.slice(proofAt + 3), 'base64');
    if (proof.length !== PROOF_BYTES) throw fail('the proof is not 32 bytes');
    const credential = this.credential!;
    const authMessage = `${this.clientFirstBare},${this.serverFirst},${withoutProof}`;
    const clientSignature = hmacSha256(credential.storedKey, authMessage);
    for (let i = 0; i < PROOF_BYTES; i++) proof[i] ^= clientSignature[i];
    if (!timingSafeEqual(sha256(proof), credential.storedKey)) throw new SaslAuthenticationError(MECHANISM);
    const serverSignature = hmacSha256(credential.serverKey, authMessage);
    return { token: Buffer.from(`v=${serverSignature.toString('base64')}`, 'utf8'), done: true, user: this.user };
  }
}

function fail(detail: string): SaslAuthenticationError {
  return new SaslAuthenticationError(MECHANISM, detail);
}

/** "a=x,b=y" -> [["a","x"],["b","y"]]; values may contain '=' but not ','. */
function parseAttributes(text: string): [string, string][] {
  return text.split(',').map((part) => {
    if (part.length < 2 || part[1] !== '=') throw fail(`"${part.slice(0, 20)}" is not a SCRAM attribute`);
    return [part[0], part.slice(2)];
  });
}

/** RFC 5802 saslname: "=2C" is ',', "=3D" is '=', any other '=' is malformed. */
function decodeSaslName(name: string): string {
  if (/=(?!2C|3D)/.test(name)) throw fail('the username is not a valid saslname');
  const decoded = name.replaceAll('=2C', ',').replaceAll('=3D', '=');
  if (decoded.length === 0) throw fail('the username is empty');
  return decoded;
}
