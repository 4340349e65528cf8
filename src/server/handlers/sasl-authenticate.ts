/**
 * SaslAuthenticate: one token of the exchange a v1 SaslHandshake started. A failure is reported
 * (SASL_AUTHENTICATION_FAILED with the reason) and the connection closed, as Kafka does. Sessions
 * do not expire (lifetime 0), so clients never re-authenticate.
 */
import { ErrorCode } from '../../protocol/api/error-codes.js';
import { SaslAuthenticate } from '../../protocol/api/sasl-authenticate.js';
import { defineHandler } from './handler.js';

const EMPTY = Buffer.alloc(0);

export const saslAuthenticateHandler = defineHandler({
  api: SaslAuthenticate,
  handle(ctx, request) {
    if (ctx.sasl === null) {
      return {
        errorCode: ErrorCode.ILLEGAL_SASL_STATE,
        errorMessage: 'SASL is not enabled on this listener',
        authBytes: EMPTY,
        sessionLifetimeMs: 0,
      };
    }
    const outcome = ctx.sasl.authenticate(request.authBytes);
    if (outcome.close) ctx.closeAfterResponse();
    return { errorCode: outcome.errorCode, errorMessage: outcome.errorMessage, authBytes: outcome.token, sessionLifetimeMs: 0 };
  },
});
