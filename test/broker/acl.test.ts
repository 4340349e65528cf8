/**
 * Kafka's ACL rules, unit by unit: how filters select bindings (ResourcePatternFilter and
 * AccessControlEntryFilter semantics, MATCH included), the StandardAuthorizer decision (deny
 * wins, implied operations, wildcards, prefixes, hosts, super users, the no-ACL default),
 * authorizeByResourceType, and the durable ACL file.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AclAuthorizer } from '../../src/broker/acl/acl-authorizer.js';
import { ACLS_FILE, AclStore } from '../../src/broker/acl/acl-store.js';
import {
  ANY_ACL,
  AclOperation,
  AclPermissionType,
  PatternType,
  ResourceType,
  filterMatches,
  validateFilter,
  validateNewAcl,
  type AclBinding,
  type AclBindingFilter,
} from '../../src/broker/acl/acl.js';
import { CorruptFileError, InvalidRequestError } from '../../src/errors.js';
import { makeTempDir, removeTempDir } from '../support/temp-dir.js';

function acl(overrides: Partial<AclBinding> = {}): AclBinding {
  return {
    resourceType: ResourceType.TOPIC,
    resourceName: 'orders',
    patternType: PatternType.LITERAL,
    principal: 'User:alice',
    host: '*',
    operation: AclOperation.READ,
    permissionType: AclPermissionType.ALLOW,
    ...overrides,
  };
}

function filter(overrides: Partial<AclBindingFilter> = {}): AclBindingFilter {
  return { ...ANY_ACL, ...overrides };
}

const alice = { principal: 'User:alice', host: '10.0.0.1' };
const bob = { principal: 'User:bob', host: '10.0.0.2' };

function authorizer(bindings: AclBinding[], options: { superUsers?: string[]; allowEveryoneIfNoAclFound?: boolean } = {}): AclAuthorizer {
  return new AclAuthorizer({ superUsers: options.superUsers ?? [], allowEveryoneIfNoAclFound: options.allowEveryoneIfNoAclFound ?? false }, () => bindings);
}

describe('filters (ResourcePatternFilter / AccessControlEntryFilter)', () => {
  const literal = acl();
  const wildcard = acl({ resourceName: '*' });
  const prefixed = acl({ resourceName: 'ord', patternType: PatternType.PREFIXED });
  const other = acl({ resourceName: 'payments' });
  const all = [literal, wildcard, prefixed, other];
  const selected = (f: AclBindingFilter): AclBinding[] => all.filter((binding) => filterMatches(f, binding));

  it('ANY with a null name selects everything; a name with ANY selects that exact name of any pattern type', () => {
    expect(selected(ANY_ACL)).toEqual(all);
    expect(selected(filter({ resourceName: 'ord' }))).toEqual([prefixed]);
    expect(selected(filter({ resourceName: '*' }))).toEqual([wildcard]);
  });

  it('LITERAL and PREFIXED select only their own pattern type, the name compared exactly', () => {
    expect(selected(filter({ patternType: PatternType.LITERAL, resourceName: 'orders' }))).toEqual([literal]);
    expect(selected(filter({ patternType: PatternType.PREFIXED, resourceName: 'orders' }))).toEqual([]);
    expect(selected(filter({ patternType: PatternType.PREFIXED }))).toEqual([prefixed]);
  });

  it('MATCH selects every pattern that applies to the name: itself, the wildcard, and prefixes of it', () => {
    expect(selected(filter({ patternType: PatternType.MATCH, resourceName: 'orders' }))).toEqual([literal, wildcard, prefixed]);
    expect(selected(filter({ patternType: PatternType.MATCH, resourceName: 'payments' }))).toEqual([wildcard, other]);
  });

  it('resource type, principal, host, operation and permission narrow the selection', () => {
    const deny = acl({ permissionType: AclPermissionType.DENY, principal: 'User:bob', host: '10.0.0.2', operation: AclOperation.WRITE });
    const group = acl({ resourceType: ResourceType.GROUP });
    const bindings = [literal, deny, group];
    const pick = (f: AclBindingFilter): AclBinding[] => bindings.filter((binding) => filterMatches(f, binding));
    expect(pick(filter({ resourceType: ResourceType.GROUP }))).toEqual([group]);
    expect(pick(filter({ principal: 'User:bob' }))).toEqual([deny]);
    expect(pick(filter({ host: '10.0.0.2' }))).toEqual([deny]);
    expect(pick(filter({ operation: AclOperation.WRITE }))).toEqual([deny]);
    expect(pick(filter({ permissionType: AclPermissionType.DENY }))).toEqual([deny]);
    expect(pick(filter({ permissionType: AclPermissionType.ALLOW, resourceType: ResourceType.TOPIC }))).toEqual([literal]);
  });

  it('a filter with an UNKNOWN or unrecognised code is INVALID_REQUEST', () => {
    expect(() => validateFilter(filter({ resourceType: ResourceType.UNKNOWN }))).toThrow(InvalidRequestError);
    expect(() => validateFilter(filter({ patternType: 9 }))).toThrow(InvalidRequestError);
    expect(() => validateFilter(filter({ operation: 0 }))).toThrow(/UNKNOWN/);
    expect(() => validateFilter(filter({ permissionType: 42 }))).toThrow(InvalidRequestError);
    expect(() => validateFilter(filter({ patternType: PatternType.MATCH }))).not.toThrow();
  });
});

describe('new ACLs are validated as Kafka does', () => {
  it.each([
    [{ resourceType: ResourceType.ANY }, /Invalid resourceType ANY/],
    [{ resourceType: ResourceType.DELEGATION_TOKEN }, /DELEGATION_TOKEN is not served/],
    [{ resourceType: ResourceType.USER }, /USER is not served/],
    [{ patternType: PatternType.MATCH }, /Invalid patternType MATCH/],
    [{ operation: AclOperation.ANY }, /Invalid operation ANY/],
    [{ permissionType: AclPermissionType.ANY }, /Invalid permissionType ANY/],
    [{ resourceType: ResourceType.CLUSTER, resourceName: 'mine' }, /only valid name for the CLUSTER resource is kafka-cluster/],
    [{ resourceName: '' }, /Resource name should not be empty/],
    [{ principal: 'alice' }, /"<type>:<name>"/],
    [{ principal: 'User:' }, /"<type>:<name>"/],
    [{ host: '' }, /host should not be empty/],
  ] as const)('%o is refused', (overrides, message) => {
    expect(() => validateNewAcl(acl(overrides))).toThrow(message);
  });

  it('the cluster resource, transactional ids, groups and wildcards are accepted', () => {
    for (const binding of [
      acl({ resourceType: ResourceType.CLUSTER, resourceName: 'kafka-cluster', operation: AclOperation.IDEMPOTENT_WRITE }),
      acl({ resourceType: ResourceType.TRANSACTIONAL_ID, resourceName: 'tx', operation: AclOperation.WRITE }),
      acl({ resourceType: ResourceType.GROUP, resourceName: '*', principal: 'User:*', operation: AclOperation.ALL }),
    ]) {
      expect(() => validateNewAcl(binding)).not.toThrow();
    }
  });
});

describe('the authorizer (StandardAuthorizer)', () => {
  it('refuses a resource without ACLs unless allow.everyone.if.no.acl.found', () => {
    expect(authorizer([]).authorize(alice, AclOperation.READ, ResourceType.TOPIC, 'orders')).toBe(false);
    expect(authorizer([], { allowEveryoneIfNoAclFound: true }).authorize(alice, AclOperation.READ, ResourceType.TOPIC, 'orders')).toBe(true);
  });

  it('refuses a resource whose ACLs are all for others, even with allow.everyone.if.no.acl.found', () => {
    const auth = authorizer([acl({ principal: 'User:bob' })], { allowEveryoneIfNoAclFound: true });
    expect(auth.authorize(alice, AclOperation.READ, ResourceType.TOPIC, 'orders')).toBe(false);
    expect(auth.authorize(alice, AclOperation.READ, ResourceType.TOPIC, 'payments')).toBe(true);
  });

  it('allows the operation an ALLOW names, for that principal and resource only', () => {
    const auth = authorizer([acl()]);
    expect(auth.authorize(alice, AclOperation.READ, ResourceType.TOPIC, 'orders')).toBe(true);
    expect(auth.authorize(alice, AclOperation.WRITE, ResourceType.TOPIC, 'orders')).toBe(false);
    expect(auth.authorize(bob, AclOperation.READ, ResourceType.TOPIC, 'orders')).toBe(false);
    expect(auth.authorize(alice, AclOperation.READ, ResourceType.TOPIC, 'orders2')).toBe(false);
    expect(auth.authorize(alice, AclOperation.READ, ResourceType.GROUP, 'orders')).toBe(false);
  });

  it('a DENY wins over any ALLOW, wherever it comes from', () => {
    const allowAll = acl({ resourceName: '*', principal: 'User:*', operation: AclOperation.ALL });
    expect(authorizer([allowAll]).authorize(alice, AclOperation.WRITE, ResourceType.TOPIC, 'orders')).toBe(true);
    const denyPrefix = acl({ resourceName: 'ord', patternType: PatternType.PREFIXED, permissionType: AclPermissionType.DENY, operation: AclOperation.WRITE });
    expect(authorizer([allowAll, denyPrefix]).authorize(alice, AclOperation.WRITE, ResourceType.TOPIC, 'orders')).toBe(false);
    expect(authorizer([denyPrefix, allowAll]).authorize(alice, AclOperation.WRITE, ResourceType.TOPIC, 'orders')).toBe(false);
    expect(authorizer([allowAll, denyPrefix]).authorize(bob, AclOperation.WRITE, ResourceType.TOPIC, 'orders')).toBe(true);
    expect(authorizer([allowAll, denyPrefix]).authorize(alice, AclOperation.READ, ResourceType.TOPIC, 'orders')).toBe(true);
  });

  it('READ, WRITE, DELETE and ALTER imply DESCRIBE; ALTER_CONFIGS implies DESCRIBE_CONFIGS; only for ALLOW', () => {
    for (const operation of [AclOperation.READ, AclOperation.WRITE, AclOperation.DELETE, AclOperation.ALTER]) {
      expect(authorizer([acl({ operation })]).authorize(alice, AclOperation.DESCRIBE, ResourceType.TOPIC, 'orders')).toBe(true);
    }
    expect(authorizer([acl({ operation: AclOperation.CREATE })]).authorize(alice, AclOperation.DESCRIBE, ResourceType.TOPIC, 'orders')).toBe(false);
    expect(authorizer([acl({ operation: AclOperation.ALTER_CONFIGS })]).authorize(alice, AclOperation.DESCRIBE_CONFIGS, ResourceType.TOPIC, 'orders')).toBe(true);
    expect(authorizer([acl({ operation: AclOperation.ALTER })]).authorize(alice, AclOperation.DESCRIBE_CONFIGS, ResourceType.TOPIC, 'orders')).toBe(false);
    expect(authorizer([acl({ operation: AclOperation.DESCRIBE })]).authorize(alice, AclOperation.READ, ResourceType.TOPIC, 'orders')).toBe(false);
    // A DENY of READ does not deny DESCRIBE.
    const bindings = [acl({ operation: AclOperation.WRITE }), acl({ operation: AclOperation.READ, permissionType: AclPermissionType.DENY })];
    expect(authorizer(bindings).authorize(alice, AclOperation.DESCRIBE, ResourceType.TOPIC, 'orders')).toBe(true);
    expect(authorizer(bindings).authorize(alice, AclOperation.READ, ResourceType.TOPIC, 'orders')).toBe(false);
  });

  it('ALL covers every operation, ALLOW and DENY', () => {
    expect(authorizer([acl({ operation: AclOperation.ALL })]).authorize(alice, AclOperation.DELETE, ResourceType.TOPIC, 'orders')).toBe(true);
    const bindings = [acl({ operation: AclOperation.READ }), acl({ operation: AclOperation.ALL, permissionType: AclPermissionType.DENY })];
    expect(authorizer(bindings).authorize(alice, AclOperation.READ, ResourceType.TOPIC, 'orders')).toBe(false);
  });

  it('PREFIXED patterns apply to names they start, the wildcard to every name, the wildcard principal to everyone', () => {
    const auth = authorizer([
      acl({ resourceName: 'logs-', patternType: PatternType.PREFIXED, operation: AclOperation.WRITE }),
      acl({ resourceName: '*', principal: 'User:*', operation: AclOperation.DESCRIBE }),
    ]);
    expect(auth.authorize(alice, AclOperation.WRITE, ResourceType.TOPIC, 'logs-app')).toBe(true);
    expect(auth.authorize(alice, AclOperation.WRITE, ResourceType.TOPIC, 'logs-')).toBe(true);
    expect(auth.authorize(alice, AclOperation.WRITE, ResourceType.TOPIC, 'log')).toBe(false);
    expect(auth.authorize(bob, AclOperation.DESCRIBE, ResourceType.TOPIC, 'anything')).toBe(true);
    // A literal "logs-" would not apply to "logs-app", nor a prefixed "*" to anything but names starting with '*'.
    expect(authorizer([acl({ resourceName: 'logs-' })]).authorize(alice, AclOperation.READ, ResourceType.TOPIC, 'logs-app')).toBe(false);
    expect(authorizer([acl({ resourceName: '*', patternType: PatternType.PREFIXED })]).authorize(alice, AclOperation.READ, ResourceType.TOPIC, 'x')).toBe(false);
  });

  it('an entry applies only from its host, unless its host is *', () => {
    const auth = authorizer([acl({ host: '10.0.0.1' })]);
    expect(auth.authorize(alice, AclOperation.READ, ResourceType.TOPIC, 'orders')).toBe(true);
    expect(auth.authorize({ ...alice, host: '10.0.0.9' }, AclOperation.READ, ResourceType.TOPIC, 'orders')).toBe(false);
  });

  it('super users may do anything, even against a DENY', () => {
    const auth = authorizer([acl({ principal: 'User:*', operation: AclOperation.ALL, permissionType: AclPermissionType.DENY })], { superUsers: ['User:admin'] });
    expect(auth.authorize({ principal: 'User:admin', host: '1.2.3.4' }, AclOperation.ALTER, ResourceType.CLUSTER, 'kafka-cluster')).toBe(true);
    expect(auth.authorize(alice, AclOperation.READ, ResourceType.TOPIC, 'orders')).toBe(false);
  });

  it('reads the current bindings at every decision', () => {
    const bindings: AclBinding[] = [];
    const auth = authorizer(bindings);
    expect(auth.authorize(alice, AclOperation.READ, ResourceType.TOPIC, 'orders')).toBe(false);
    bindings.push(acl());
    expect(auth.authorize(alice, AclOperation.READ, ResourceType.TOPIC, 'orders')).toBe(true);
  });

  describe('authorizeByResourceType (InitProducerId without a transactional id)', () => {
    const write = (bindings: AclBinding[], options = {}): boolean =>
      authorizer(bindings, options).authorizeByResourceType(alice, AclOperation.WRITE, ResourceType.TOPIC);

    it('follows the default when no ACL names the resource type', () => {
      expect(write([])).toBe(false);
      expect(write([], { allowEveryoneIfNoAclFound: true })).toBe(true);
    });

    it('an ALLOW of WRITE on any topic is enough, unless a DENY covers it', () => {
      expect(write([acl({ operation: AclOperation.WRITE })])).toBe(true);
      expect(write([acl({ operation: AclOperation.READ })])).toBe(false);
      expect(write([acl({ operation: AclOperation.WRITE }), acl({ operation: AclOperation.WRITE, permissionType: AclPermissionType.DENY })])).toBe(false);
      const denyPrefix = acl({ resourceName: 'or', patternType: PatternType.PREFIXED, operation: AclOperation.WRITE, permissionType: AclPermissionType.DENY });
      expect(write([acl({ operation: AclOperation.WRITE }), denyPrefix])).toBe(false);
      expect(write([acl({ operation: AclOperation.WRITE, resourceName: 'payments' }), denyPrefix])).toBe(true);
    });

    it('a wildcard DENY refuses and a wildcard ALLOW allows outright', () => {
      expect(write([acl({ operation: AclOperation.WRITE, resourceName: '*' })])).toBe(true);
      expect(write([acl({ operation: AclOperation.WRITE }), acl({ resourceName: '*', operation: AclOperation.ALL, permissionType: AclPermissionType.DENY })])).toBe(false);
    });
  });
});

describe('the ACL file', () => {
  let dir: string;
  beforeEach(() => {
    dir = makeTempDir('acl');
  });
  afterEach(() => removeTempDir(dir));

  it('persists created bindings and deletions across reopening', () => {
    const store = AclStore.open(dir);
    expect(store.all()).toEqual([]);
    const prefixedDeny = acl({ resourceName: 'logs-', patternType: PatternType.PREFIXED, permissionType: AclPermissionType.DENY, host: '10.0.0.9' });
    expect(store.create([acl(), prefixedDeny])).toEqual([null, null]);
    expect(AclStore.open(dir).all()).toEqual([acl(), prefixedDeny]);
    const [result] = store.delete([filter({ permissionType: AclPermissionType.DENY })]);
    expect(result.deleted).toEqual([prefixedDeny]);
    expect(AclStore.open(dir).all()).toEqual([acl()]);
  });

  it('creating an existing binding succeeds without a duplicate; an invalid one is refused, the others still created', () => {
    const store = AclStore.open(dir);
    store.create([acl()]);
    const results = store.create([acl(), acl({ principal: 'nobody' }), acl({ operation: AclOperation.WRITE })]);
    expect(results[0]).toBeNull();
    expect(results[1]).toBeInstanceOf(InvalidRequestError);
    expect(results[2]).toBeNull();
    expect(AclStore.open(dir).all()).toEqual([acl(), acl({ operation: AclOperation.WRITE })]);
  });

  it('each delete filter reports what it removed; a binding two filters match is reported by the first', () => {
    const store = AclStore.open(dir);
    store.create([acl(), acl({ resourceName: 'payments' })]);
    const results = store.delete([filter({ resourceName: 'orders' }), ANY_ACL, filter({ principal: 'User:nobody' })]);
    expect(results.map((result) => result.deleted)).toEqual([[acl()], [acl({ resourceName: 'payments' })], []]);
    expect(AclStore.open(dir).all()).toEqual([]);
  });

  it('a damaged file is a CorruptFileError that names it and the fix', () => {
    writeFileSync(join(dir, ACLS_FILE), '{"version":1,"acls":[{"resourceType":"TOPIC"}]}');
    expect(() => AclStore.open(dir)).toThrow(CorruptFileError);
    expect(() => AclStore.open(dir)).toThrow(/acls\.json.*ACL 0 is invalid.*delete it to drop every ACL/s);
    writeFileSync(join(dir, ACLS_FILE), 'not json');
    expect(() => AclStore.open(dir)).toThrow(/not valid JSON/);
  });
});
