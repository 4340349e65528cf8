/**
 * Kafka's ACL model (org.apache.kafka.common.acl and .resource): a binding is a resource pattern
 * (resource type, name, LITERAL or PREFIXED) and an entry (principal, host, operation, ALLOW or
 * DENY). Filters select bindings with ANY / null in any field and, for the pattern, MATCH: every
 * pattern that would apply to one resource name (the literal name, the wildcard "*", and every
 * prefix of it). The codes are Kafka's wire codes, so requests and responses carry them as they
 * are; names are used in the persisted file and the CLI.
 */
import { InvalidRequestError } from '../../errors.js';

export const ResourceType = {
  UNKNOWN: 0,
  ANY: 1,
  TOPIC: 2,
  GROUP: 3,
  CLUSTER: 4,
  TRANSACTIONAL_ID: 5,
  DELEGATION_TOKEN: 6,
  USER: 7,
} as const;

export const PatternType = { UNKNOWN: 0, ANY: 1, MATCH: 2, LITERAL: 3, PREFIXED: 4 } as const;

export const AclOperation = {
  UNKNOWN: 0,
  ANY: 1,
  ALL: 2,
  READ: 3,
  WRITE: 4,
  CREATE: 5,
  DELETE: 6,
  ALTER: 7,
  DESCRIBE: 8,
  CLUSTER_ACTION: 9,
  DESCRIBE_CONFIGS: 10,
  ALTER_CONFIGS: 11,
  IDEMPOTENT_WRITE: 12,
  CREATE_TOKENS: 13,
  DESCRIBE_TOKENS: 14,
} as const;

export const AclPermissionType = { UNKNOWN: 0, ANY: 1, DENY: 2, ALLOW: 3 } as const;

export type ResourceTypeName = keyof typeof ResourceType;
export type PatternTypeName = keyof typeof PatternType;
export type AclOperationName = keyof typeof AclOperation;
export type AclPermissionTypeName = keyof typeof AclPermissionType;

/** The only name of the CLUSTER resource (Kafka's Resource.CLUSTER_NAME). */
export const CLUSTER_NAME = 'kafka-cluster';
/** A LITERAL pattern with this name matches every resource of its type; an entry with this host matches every host. */
export const WILDCARD = '*';
/** The principal every principal matches in an ACL (Kafka's WILDCARD_KAFKA_PRINCIPAL). */
export const WILDCARD_PRINCIPAL = 'User:*';

/** One ACL binding, with Kafka's codes. */
export interface AclBinding {
  readonly resourceType: number;
  readonly resourceName: string;
  readonly patternType: number;
  readonly principal: string;
  readonly host: string;
  readonly operation: number;
  readonly permissionType: number;
}

/** A filter over bindings: null strings and ANY codes match everything; patternType MATCH as described above. */
export interface AclBindingFilter {
  readonly resourceType: number;
  readonly resourceName: string | null;
  readonly patternType: number;
  readonly principal: string | null;
  readonly host: string | null;
  readonly operation: number;
  readonly permissionType: number;
}

/** The filter that matches every binding. */
export const ANY_ACL: AclBindingFilter = Object.freeze({
  resourceType: ResourceType.ANY,
  resourceName: null,
  patternType: PatternType.ANY,
  principal: null,
  host: null,
  operation: AclOperation.ANY,
  permissionType: AclPermissionType.ANY,
});

/** The name of a code in one of the tables above, or "UNKNOWN(<code>)". */
export function codeName(table: Readonly<Record<string, number>>, code: number): string {
  for (const [name, value] of Object.entries(table)) if (value === code) return name;
  return `UNKNOWN(${code})`;
}

/** The code of a name (case-insensitive, '-' for '_'); InvalidRequestError listing the names when unknown. */
export function codeOf(table: Readonly<Record<string, number>>, name: string, what: string, allowed: readonly string[]): number {
  const normalized = String(name).toUpperCase().replaceAll('-', '_');
  if (allowed.includes(normalized)) return table[normalized];
  throw new InvalidRequestError(`${what} ${JSON.stringify(name)} is not one of ${allowed.join(', ')}`);
}

/** Resource types Sluice enforces: delegation tokens and user resources do not exist here. */
export const SERVED_RESOURCE_TYPES: readonly ResourceTypeName[] = ['TOPIC', 'GROUP', 'CLUSTER', 'TRANSACTIONAL_ID'];
export const CONCRETE_OPERATIONS: readonly AclOperationName[] = Object.keys(AclOperation).filter(
  (name) => name !== 'UNKNOWN' && name !== 'ANY',
) as AclOperationName[];

/**
 * Kafka's principal text "<type>:<name>" (SecurityUtils.parseKafkaPrincipal): both parts
 * non-empty. Returns the text as is.
 */
export function checkPrincipal(principal: string): string {
  if (!isPrincipal(principal)) {
    throw new InvalidRequestError(`principal ${JSON.stringify(principal)} is not "<type>:<name>", for example "User:alice" or "User:*"`);
  }
  return principal;
}

/**
 * Checks a binding to be created, as Kafka's AclControlManager.validateNewAcl and the CreateAcls
 * handler do, with one addition: DELEGATION_TOKEN and USER resources are refused, since Sluice
 * serves neither delegation tokens nor their ACL checks. InvalidRequestError names the problem.
 */
export function validateNewAcl(binding: AclBinding): void {
  const type = binding.resourceType;
  if (type === ResourceType.DELEGATION_TOKEN || type === ResourceType.USER) {
    throw new InvalidRequestError(
      `resource type ${codeName(ResourceType, type)} is not served: Sluice has no delegation tokens; ACLs apply to ${SERVED_RESOURCE_TYPES.join(', ')}`,
    );
  }
  if (!SERVED_RESOURCE_TYPES.includes(codeName(ResourceType, type) as ResourceTypeName)) {
    throw new InvalidRequestError(`Invalid resourceType ${codeName(ResourceType, type)}`);
  }
  if (binding.patternType !== PatternType.LITERAL && binding.patternType !== PatternType.PREFIXED) {
    throw new InvalidRequestError(`Invalid patternType ${codeName(PatternType, binding.patternType)}: an ACL is LITERAL or PREFIXED`);
  }
  if (!CONCRETE_OPERATIONS.includes(codeName(AclOperation, binding.operation) as AclOperationName)) {
    throw new InvalidRequestError(`Invalid operation ${codeName(AclOperation, binding.operation)}`);
  }
  if (binding.permissionType !== AclPermissionType.ALLOW && binding.permissionType !== AclPermissionType.DENY) {
    throw new InvalidRequestError(`Invalid permissionType ${codeName(AclPermissionType, binding.permissionType)}: an ACL is ALLOW or DENY`);
  }
  if (type === ResourceType.CLUSTER && binding.resourceName !== CLUSTER_NAME) {
    throw new InvalidRequestError(`The only valid name for the CLUSTER resource is ${CLUSTER_NAME}`);
  }
  if (binding.resourceName.length === 0) throw new InvalidRequestError('Resource name should not be empty');
  checkPrincipal(binding.principal);
  if (binding.host.length === 0) throw new InvalidRequestError('host should not be empty; "*" matches every host');
}

/**
 * Checks a filter as Kafka's request parsing does: no UNKNOWN (or unrecognised) code anywhere.
 * (A v0 request has no pattern type field: it decodes as LITERAL, the only type v0 knows.)
 */
export function validateFilter(filter: AclBindingFilter): void {
  const unknown = (table: Readonly<Record<string, number>>, code: number): boolean => codeName(table, code).startsWith('UNKNOWN');
  if (
    unknown(ResourceType, filter.resourceType) ||
    unknown(PatternType, filter.patternType) ||
    unknown(AclOperation, filter.operation) ||
    unknown(AclPermissionType, filter.permissionType)
  ) {
    throw new InvalidRequestError(
      `the filter has an UNKNOWN element (resource type ${filter.resourceType}, pattern type ${filter.patternType}, operation ${filter.operation}, permission type ${filter.permissionType})`,
    );
  }
}

/** Kafka's ResourcePatternFilter.matches: does the filter select this binding's resource pattern? */
export function patternMatches(filter: AclBindingFilter, binding: AclBinding): boolean {
  if (filter.resourceType !== ResourceType.ANY && filter.resourceType !== binding.resourceType) return false;
  const type = filter.patternType;
  if (type !== PatternType.ANY && type !== PatternType.MATCH && type !== binding.patternType) return false;
  const name = filter.resourceName;
  if (name === null) return true;
  if (type === PatternType.ANY || type === binding.patternType) return name === binding.resourceName;
  // MATCH: the patterns that would apply to a resource called `name`.
  if (binding.patternType === PatternType.LITERAL) return name === binding.resourceName || binding.resourceName === WILDCARD;
  return name.startsWith(binding.resourceName);
}

/** Kafka's AccessControlEntryFilter.matches. */
export function entryMatches(filter: AclBindingFilter, binding: AclBinding): boolean {
  if (filter.principal !== null && filter.principal !== binding.principal) return false;
  if (filter.host !== null && filter.host !== binding.host) return false;
  if (filter.operation !== AclOperation.ANY && filter.operation !== binding.operation) return false;
  return filter.permissionType === AclPermissionType.ANY || filter.permissionType === binding.permissionType;
}

export function filterMatches(filter: AclBindingFilter, binding: AclBinding): boolean {
  return patternMatches(filter, binding) && entryMatches(filter, binding);
}

export function sameBinding(a: AclBinding, b: AclBinding): boolean {
  return (
    a.resourceType === b.resourceType &&
    a.resourceName === b.resourceName &&
    a.patternType === b.patternType &&
    a.principal === b.principal &&
    a.host === b.host &&
    a.operation === b.operation &&
    a.permissionType === b.permissionType
  );
}

/** A binding as text, for messages and the CLI. */
export function describeBinding(binding: AclBinding): string {
  return (
    `${codeName(AclPermissionType, binding.permissionType)} ${binding.principal} from ${binding.host} ` +
    `${codeName(AclOperation, binding.operation)} on ${codeName(ResourceType, binding.resourceType)}:` +
    `${codeName(PatternType, binding.patternType)}:${binding.resourceName}`
  );
}

/** One resource pattern and its entries, as DescribeAcls answers. */
export interface AclResourceGroup {
  readonly resourceType: number;
  readonly resourceName: string;
  readonly patternType: number;
  readonly acls: { principal: string; host: string; operation: number; permissionType: number }[];
}

/** Kafka's DescribeAclsResponse.aclsResources: the bindings grouped by resource pattern, in order. */
export function groupByResourcePattern(bindings: readonly AclBinding[]): AclResourceGroup[] {
  const groups = new Map<string, AclResourceGroup>();
  for (const binding of bindings) {
    const key = JSON.stringify([binding.resourceType, binding.patternType, binding.resourceName]);
    let group = groups.get(key);
    if (group === undefined) {
      group = { resourceType: binding.resourceType, resourceName: binding.resourceName, patternType: binding.patternType, acls: [] };
      groups.set(key, group);
    }
    group.acls.push({ principal: binding.principal, host: binding.host, operation: binding.operation, permissionType: binding.permissionType });
  }
  return [...groups.values()];
}

/** Whether the text is Kafka's principal form "<type>:<name>", both parts non-empty. */
export function isPrincipal(text: unknown): boolean {
  return typeof text === 'string' && /^[^:]+:.+$/s.test(text);
}
