/**
 * The one place handlers ask whether a request may act on a resource. Each handler calls
 * `authorize` where Kafka's KafkaApis calls AuthHelper.authorize, with the same operation and
 * resource, and answers the same *_AUTHORIZATION_FAILED code; this module turns the connection
 * into Kafka's caller (its principal: "User:<sasl user>", "User:<certificate subject>" over TLS
 * with a client certificate, or User:ANONYMOUS; and the client's IP address) and asks the broker's ACLs (broker/acl/acl-authorizer.ts). With no
 * authorizer configured every request is allowed, as in Kafka.
 */
import { AclOperation, CLUSTER_NAME, ResourceType, type AclOperationName } from '../broker/acl/acl.js';
import { AuthorizationFailedError } from '../errors.js';
import type { AclCaller } from '../broker/acl/acl-authorizer.js';
import type { RequestContext } from './handlers/handler.js';

/** The resource types requests act on. */
export type AuthorizedResourceType = 'TOPIC' | 'GROUP' | 'CLUSTER' | 'TRANSACTIONAL_ID';

/**
 * Kafka's AclEntry.supportedOperations: the operations that apply to each resource type, the ones
 * an authorized-operations answer (KIP-430) is made of.
 */
const SUPPORTED_OPERATIONS: Readonly<Record<AuthorizedResourceType, readonly AclOperationName[]>> = {
  TOPIC: ['READ', 'WRITE', 'CREATE', 'DESCRIBE', 'DELETE', 'ALTER', 'DESCRIBE_CONFIGS', 'ALTER_CONFIGS'],
  GROUP: ['READ', 'DESCRIBE', 'DELETE'],
  CLUSTER: ['CREATE', 'CLUSTER_ACTION', 'DESCRIBE_CONFIGS', 'ALTER_CONFIGS', 'IDEMPOTENT_WRITE', 'ALTER', 'DESCRIBE'],
  TRANSACTIONAL_ID: ['DESCRIBE', 'WRITE'],
};

/** Kafka's principal of a connection that did not authenticate (KafkaPrincipal.ANONYMOUS). */
export const ANONYMOUS_PRINCIPAL = 'User:ANONYMOUS';

const IPV4_MAPPED_PREFIX = '::ffff:';
const IPV4_MAPPED = /^::ffff:\d+\.\d+\.\d+\.\d+$/i;

/** The connection as the authorizer sees it. */
export function callerOf(ctx: RequestContext): AclCaller {
  // clientHost is "/" + IP address, as Kafka prints an InetAddress.
  const address = ctx.clientHost.startsWith('/') ? ctx.clientHost.slice(1) : ctx.clientHost;
  return { principal: ctx.principal, host: aclHost(address) };
}

/**
 * A client's IP address as ACLs name it: an IPv4 client of a dual-stack listener shows as
 * ::ffff:a.b.c.d, which Java reads as the IPv4 address.
 */
export function aclHost(address: string): string {
  return IPV4_MAPPED.test(address) ? address.slice(IPV4_MAPPED_PREFIX.length) : address;
}

/** May this request perform `operation` on the resource? Always true without an authorizer. */
export function authorize(ctx: RequestContext, operation: AclOperationName, resourceType: AuthorizedResourceType, name: string): boolean {
  const authorizer = ctx.server.authorizer;
  if (authorizer === null) return true;
  return authorizer.authorize(callerOf(ctx), AclOperation[operation], ResourceType[resourceType], name);
}

/** `authorize` on the cluster resource. */
export function authorizeCluster(ctx: RequestContext, operation: AclOperationName): boolean {
  return authorize(ctx, operation, 'CLUSTER', CLUSTER_NAME);
}

/** Kafka's authorizeByResourceType: may this request perform `operation` on some resource of the type? */
export function authorizeAny(ctx: RequestContext, operation: AclOperationName, resourceType: AuthorizedResourceType): boolean {
  const authorizer = ctx.server.authorizer;
  if (authorizer === null) return true;
  return authorizer.authorizeByResourceType(callerOf(ctx), AclOperation[operation], ResourceType[resourceType]);
}

/** `authorize`, throwing AuthorizationFailedError (the resource type's *_AUTHORIZATION_FAILED) when refused. */
export function requireAuthorized(ctx: RequestContext, operation: AclOperationName, resourceType: AuthorizedResourceType, name: string): void {
  if (!authorize(ctx, operation, resourceType, name)) throw new AuthorizationFailedError(resourceType, operation, name);
}

/**
 * Kafka's AuthHelper.authorizedOperations (KIP-430): the bit field (bit n for AclOperation code n)
 * of the resource type's supported operations this request may perform on the resource; every
 * supported one without an authorizer.
 */
export function authorizedOperations(ctx: RequestContext, resourceType: AuthorizedResourceType, name: string): number {
  let bits = 0;
  for (const operation of SUPPORTED_OPERATIONS[resourceType]) {
    if (authorize(ctx, operation, resourceType, name)) bits |= 1 << AclOperation[operation];
  }
  return bits;
}

/**
 * The cluster's authorized operations as DescribeCluster and Metadata v8-v10 answer them: none
 * (0) without DESCRIBE on the cluster, as Kafka checks that first.
 */
export function clusterAuthorizedOperations(ctx: RequestContext): number {
  return authorizeCluster(ctx, 'DESCRIBE') ? authorizedOperations(ctx, 'CLUSTER', CLUSTER_NAME) : 0;
}
