/**
 * SASL PLAIN (RFC 4616): one client message, `[authzid] NUL authcid NUL passwd`, checked against
 * the credential store. As in Kafka, an authorization id other than the user name is refused.
 */
import { SaslAuthenticationError } from '../../errors.js';
import type { CredentialStore } from './credentials.js';
import type { SaslExchange, SaslStep } from './session.js';

const NUL = 0;
const MECHANISM = 'PLAIN';
const EMPTY = Buffer.alloc(0);

export class PlainExchange implements SaslExchange {
  private readonly credentials: CredentialStore;
  private done = false;

  constructor(credentials: CredentialStore) {
    this.credentials = credentials;
  }

  step(token: Buffer): SaslStep {
    if (this.done) throw new SaslAuthenticationError(MECHANISM, 'the exchange is already complete');
    this.done = true;
    const first = token.indexOf(NUL);
    const second = first < 0 ? -1 : token.indexOf(NUL, first + 1);
    if (second < 0 || token.indexOf(NUL, second + 1) >= 0) {
      throw new SaslAuthenticationError(MECHANISM, 'the message is not "[authzid] NUL username NUL password"');
    }
    const authzid = token.toString('utf8', 0, first);
    const user = token.toString('utf8', first + 1, second);
    const password = token.toString('utf8', second + 1);
    if (user.length === 0 || password.length === 0) throw new SaslAuthenticationError(MECHANISM, 'the username or password is empty');
    if (authzid.length > 0 && authzid !== user) {
      throw new SaslAuthenticationError(MECHANISM, 'the authorization id differs from the username');
    }
    if (!this.credentials.verifyPassword(user, password)) throw new SaslAuthenticationError(MECHANISM);
    return { token: EMPTY, done: true, user };
  }
}
