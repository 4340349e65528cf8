/**
 * Kafka's StandardAuthorizer decision, over the broker's ACL bindings:
 *
 *   - a super user (`super.users`, principals such as "User:admin") may do anything;
 *   - the ACLs that apply to a resource are the LITERAL ones with its name or the wildcard "*",
 *     and the PREFIXED ones whose name starts it;
 *   - of those, an entry applies when its principal is the caller's or "User:*", its host the
 *     caller's address or "*", and its operation the one asked, or ALL; an ALLOW of READ, WRITE,
 *     DELETE or ALTER also allows DESCRIBE, an ALLOW of ALTER_CONFIGS also DESCRIBE_CONFIGS (a
 *     DENY implies nothing);
 *   - any applicable DENY refuses, whatever ALLOWs there are; else an applicable ALLOW allows;
 *   - a resource with no ACL at all gets `allow.everyone.if.no.acl.found` (default false), a
 *     resource with ACLs none of which apply is refused.
 */
import { AclOperation, AclPermissionType, PatternType, WILDCARD, WILDCARD_PRINCIPAL, type AclBinding } from './acl.js';

export interface AclAuthorizerOptions {
  /** Principals allowed everything, as "User:<name>" (Kafka's super.users). */
  readonly superUsers: readonly string[];
  /** The answer for a resource no ACL names (Kafka's allow.everyone.if.no.acl.found). */
  readonly allowEveryoneIfNoAclFound: boolean;
}

/** Who asks: Kafka's principal text ("User:alice", "User:ANONYMOUS") and the client's IP address. */
export interface AclCaller {
  readonly principal: string;
  readonly host: string;
}

const IMPLIES_DESCRIBE: ReadonlySet<number> = new Set([
  AclOperation.DESCRIBE,
  AclOperation.READ,
  AclOperation.WRITE,
  AclOperation.DELETE,
  AclOperation.ALTER,
]);
const IMPLIES_DESCRIBE_CONFIGS: ReadonlySet<number> = new Set([AclOperation.DESCRIBE_CONFIGS, AclOperation.ALTER_CONFIGS]);

export class AclAuthorizer {
  private readonly superUsers: ReadonlySet<string>;
  private readonly allowEveryoneIfNoAclFound: boolean;
  private readonly bindings: () => readonly AclBinding[];

  /** `bindings` is read at every decision, so ACL changes apply to the next request. */
  constructor(options: AclAuthorizerOptions, bindings: () => readonly AclBinding[]) {
    this.superUsers = new Set(options.superUsers);
    this.allowEveryoneIfNoAclFound = options.allowEveryoneIfNoAclFound;
    this.bindings = bindings;
  }

  isSuperUser(principal: string): boolean {
    return this.superUsers.has(principal);
  }

  /** May the caller perform `operation` on the resource of this type and name? */
  authorize(caller: AclCaller, operation: number, resourceType: number, resourceName: string): boolean {
    if (this.superUsers.has(caller.principal)) return true;
    let hasResourceAcls = false;
    let allowed = false;
    for (const acl of this.bindings()) {
      if (acl.resourceType !== resourceType || !appliesTo(acl, resourceName)) continue;
      hasResourceAcls = true;
      const result = entryResult(acl, caller, operation);
      if (result === AclPermissionType.DENY) return false;
      if (result === AclPermissionType.ALLOW) allowed = true;
    }
    return allowed || (!hasResourceAcls && this.allowEveryoneIfNoAclFound);
  }

  /**
   * Kafka's Authorizer.authorizeByResourceType: may the caller perform `operation` on at least one
   * resource of the type? True when a resource no ACL names would be allowed, or when an ALLOW
   * for the caller (LITERAL or PREFIXED) is not covered by a DENY of the same literal name or of a
   * prefix of it; a DENY on the wildcard refuses outright. InitProducerId without a
   * transactional id asks this for WRITE on topics.
   */
  authorizeByResourceType(caller: AclCaller, operation: number, resourceType: number): boolean {
    // Kafka first asks for a resource no ACL can name literally: the default applies unless
    // wildcard or prefix ACLs say otherwise.
    if (this.authorize(caller, operation, resourceType, 'hardcode')) return true;
    const denyLiteral = new Set<string>();
    const denyPrefixed = new Set<string>();
    const allowLiteral = new Set<string>();
    const allowPrefixed = new Set<string>();
    for (const acl of this.bindings()) {
      if (acl.resourceType !== resourceType) continue;
      if (acl.host !== WILDCARD && acl.host !== caller.host) continue;
      if (acl.principal !== caller.principal && acl.principal !== WILDCARD_PRINCIPAL) continue;
      if (acl.operation !== operation && acl.operation !== AclOperation.ALL) continue;
      const literal = acl.patternType === PatternType.LITERAL;
      if (acl.permissionType === AclPermissionType.DENY) {
        if (literal && acl.resourceName === WILDCARD) return false;
        (literal ? denyLiteral : denyPrefixed).add(acl.resourceName);
      } else if (acl.permissionType === AclPermissionType.ALLOW) {
        if (literal && acl.resourceName === WILDCARD) return true;
        (literal ? allowLiteral : allowPrefixed).add(acl.resourceName);
      }
    }
    const dominatedByDeny = (name: string): boolean => {
      for (let end = 1; end <= name.length; end++) if (denyPrefixed.has(name.slice(0, end))) return true;
      return false;
    };
    for (const name of allowLiteral) if (!denyLiteral.has(name) && !dominatedByDeny(name)) return true;
    for (const name of allowPrefixed) if (!dominatedByDeny(name)) return true;
    return false;
  }
}

/** Does the ACL's resource pattern apply to the resource called `name`? */
function appliesTo(acl: AclBinding, name: string): boolean {
  if (acl.patternType === PatternType.LITERAL) return acl.resourceName === name || acl.resourceName === WILDCARD;
  return acl.patternType === PatternType.PREFIXED && name.startsWith(acl.resourceName);
}

/** Kafka's StandardAuthorizerData.findResult: ALLOW, DENY, or null when the entry does not apply. */
function entryResult(acl: AclBinding, caller: AclCaller, operation: number): number | null {
  if (acl.principal !== caller.principal && acl.principal !== WILDCARD_PRINCIPAL) return null;
  if (acl.host !== WILDCARD && acl.host !== caller.host) return null;
  if (acl.operation !== AclOperation.ALL) {
    if (acl.permissionType === AclPermissionType.ALLOW && operation === AclOperation.DESCRIBE) {
      if (!IMPLIES_DESCRIBE.has(acl.operation)) return null;
    } else if (acl.permissionType === AclPermissionType.ALLOW && operation === AclOperation.DESCRIBE_CONFIGS) {
      if (!IMPLIES_DESCRIBE_CONFIGS.has(acl.operation)) return null;
    } else if (acl.operation !== operation) {
      return null;
    }
  }
  return acl.permissionType;
}
