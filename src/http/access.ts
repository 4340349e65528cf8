/**
 * Who an HTTP request is, and what it may see: the same rules as the Kafka listener's.
 *
 * With a SASL credentials file, every request must carry HTTP basic auth (RFC 7617) naming a
 * user of that file with its password, checked as SASL PLAIN checks it (the stored password,
 * or the SCRAM StoredKey derived from the given one); the caller is then Kafka's principal
 * "User:<name>". Without one, every caller is User:ANONYMOUS. With an authorizer, the broker's
 * ACLs decide, for that principal and the client's address, what the request may describe.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { AclAuthorizer, type AclCaller } from '../broker/acl/acl-authorizer.js';
import { AclOperation, CLUSTER_NAME, ResourceType } from '../broker/acl/acl.js';
import type { AclBinding } from '../broker/acl/acl.js';
import { resolveAuthorizer, type AuthorizerOptions } from '../server/config.js';
import { ANONYMOUS_PRINCIPAL, aclHost } from '../server/authorizer.js';
import { loadCredentials, type CredentialStore } from '../server/sasl/credentials.js';

export type DescribedResource = 'TOPIC' | 'GROUP' | 'CLUSTER';

export class HttpAccess {
  private readonly credentials: CredentialStore | null;
  private readonly authorizer: AclAuthorizer | null;

  constructor(options: { credentialsFile?: string; authorizer?: AuthorizerOptions }, bindings: () => readonly AclBinding[]) {
    this.credentials = options.credentialsFile === undefined ? null : loadCredentials(options.credentialsFile);
    this.authorizer = options.authorizer === undefined ? null : new AclAuthorizer(resolveAuthorizer(options.authorizer), bindings);
  }

  get requiresAuthentication(): boolean {
    return this.credentials !== null;
  }

  /** The request's caller, or null when credentials are required and missing or wrong. */
  authenticate(headers: IncomingHttpHeaders, remoteAddress: string): AclCaller | null {
    const host = aclHost(remoteAddress);
    if (this.credentials === null) return { principal: ANONYMOUS_PRINCIPAL, host };
    const basic = parseBasicAuth(headers.authorization);
    if (basic === null || !this.credentials.verifyPassword(basic.user, basic.password)) return null;
    return { principal: `User:${basic.user}`, host };
  }

  /** May the caller DESCRIBE the resource? Always, without an authorizer. */
  mayDescribe(caller: AclCaller, type: DescribedResource, name: string): boolean {
    if (this.authorizer === null) return true;
    return this.authorizer.authorize(caller, AclOperation.DESCRIBE, ResourceType[type], type === 'CLUSTER' ? CLUSTER_NAME : name);
  }

  /** May the caller READ the topic's records (as a Fetch needs)? Always, without an authorizer. */
  mayRead(caller: AclCaller, topic: string): boolean {
    return this.authorizer === null || this.authorizer.authorize(caller, AclOperation.READ, ResourceType.TOPIC, topic);
  }
}

/** RFC 7617: "Basic " + base64("user:password"); the password may hold ':', the user may not. */
function parseBasicAuth(header: string | undefined): { user: string; password: string } | null {
  if (header === undefined) return null;
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (match === null) return null;
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return null;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
