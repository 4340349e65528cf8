/**
 * One connection's SASL state, as Kafka's SaslServerAuthenticator keeps it:
 *
 *   handshake      SaslHandshake picks an enabled mechanism
 *   authenticate   tokens flow: in SaslAuthenticate requests after a v1 handshake, or as bare
 *                  size-prefixed frames after a v0 handshake (`expectsRawToken`)
 *   authenticated  every API is served
 *   failed         the connection is closed after the failure is reported
 *
 * Until authenticated, only ApiVersions, SaslHandshake and SaslAuthenticate are served; the
 * connection closes on anything else.
 */
import { KafkaApiError } from '../../errors.js';
import { ErrorCode } from '../../protocol/api/error-codes.js';
import type { SaslMechanismName } from '../config.js';
import type { CredentialStore } from './credentials.js';
import { PlainExchange } from './plain.js';
import { ScramSha256Exchange } from './scram.js';

export interface SaslStep {
  /** The server's next token (empty for PLAIN). */
  readonly token: Buffer;
  readonly done: boolean;
  /** Once done: the authenticated user name, which becomes the connection's principal. */
  readonly user?: string;
}

/** One mechanism's server side of an exchange; throws SaslAuthenticationError on failure. */
export interface SaslExchange {
  step(token: Buffer): SaslStep;
}

export interface SaslAuthenticateOutcome {
  readonly errorCode: number;
  readonly errorMessage: string | null;
  readonly token: Buffer;
  /** The connection must close once this outcome is sent. */
  readonly close: boolean;
}

type State = 'handshake' | 'authenticate' | 'authenticated' | 'failed';

const EMPTY = Buffer.alloc(0);

export class SaslSession {
  private readonly mechanisms: readonly SaslMechanismName[];
  private readonly credentials: CredentialStore;
  private state: State = 'handshake';
  private exchange: SaslExchange | null = null;
  private rawTokens = false;
  private user: string | null = null;

  constructor(mechanisms: readonly SaslMechanismName[], credentials: CredentialStore) {
    this.mechanisms = mechanisms;
    this.credentials = credentials;
  }

  get authenticated(): boolean {
    return this.state === 'authenticated';
  }

  /**
   * Kafka's principal of the authenticated connection, "User:<name>" (the default principal
   * builder's form), or null before authentication completes.
   */
  get principal(): string | null {
    return this.user === null ? null : `User:${this.user}`;
  }

  /** After a v0 handshake, the next frames are bare SASL tokens, not Kafka requests. */
  get expectsRawToken(): boolean {
    return this.state === 'authenticate' && this.rawTokens;
  }

  /** SaslHandshake: errorCode, the enabled mechanisms, and whether to close after answering. */
  handshake(mechanism: string, version: number): { errorCode: number; mechanisms: string[]; close: boolean } {
    const mechanisms = [...this.mechanisms];
    if (this.state !== 'handshake') {
      this.state = 'failed';
      return { errorCode: ErrorCode.ILLEGAL_SASL_STATE, mechanisms, close: true };
    }
    if (!(this.mechanisms as readonly string[]).includes(mechanism)) {
      this.state = 'failed';
      return { errorCode: ErrorCode.UNSUPPORTED_SASL_MECHANISM, mechanisms, close: true };
    }
    this.exchange = mechanism === 'PLAIN' ? new PlainExchange(this.credentials) : new ScramSha256Exchange(this.credentials);
    this.rawTokens = version === 0;
    this.state = 'authenticate';
    return { errorCode: ErrorCode.NONE, mechanisms, close: false };
  }

  /** One token of the exchange, from a SaslAuthenticate request or a bare frame. */
  authenticate(token: Buffer): SaslAuthenticateOutcome {
    if (this.state !== 'authenticate' || this.exchange === null) {
      this.state = 'failed';
      return {
        errorCode: ErrorCode.ILLEGAL_SASL_STATE,
        errorMessage: 'SaslAuthenticate is only valid after a SaslHandshake and before authentication completes',
        token: EMPTY,
        close: true,
      };
    }
    try {
      const step = this.exchange.step(token);
      if (step.done) {
        this.state = 'authenticated';
        this.user = step.user ?? null;
        this.exchange = null;
      }
      return { errorCode: ErrorCode.NONE, errorMessage: null, token: step.token, close: false };
    } catch (error) {
      if (!(error instanceof KafkaApiError)) throw error;
      this.state = 'failed';
      this.exchange = null;
      return { errorCode: error.kafkaErrorCode, errorMessage: error.message, token: EMPTY, close: true };
    }
  }
}
