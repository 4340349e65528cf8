/**
 * DescribeAcls, CreateAcls and DeleteAcls as raw frames at every served version (v0-v3): without
 * an authorizer every one answers SECURITY_DISABLED; with one, the caller (here User:ANONYMOUS,
 * the principal of a connection without SASL) needs DESCRIBE or ALTER on the cluster, else
 * CLUSTER_AUTHORIZATION_FAILED; granted, bindings are created, described grouped by resource
 * pattern, and deleted, invalid ones refused one by one with INVALID_REQUEST.
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AclOperation, AclPermissionType, PatternType, ResourceType } from '../../src/broker/acl/acl.js';
import { CreateAcls } from '../../src/protocol/api/create-acls.js';
import { DeleteAcls } from '../../src/protocol/api/delete-acls.js';
import { DescribeAcls } from '../../src/protocol/api/describe-acls.js';
import { ErrorCode } from '../../src/protocol/api/error-codes.js';
import { TestClient, startServer, type TestServer } from './helpers.js';

const VERSIONS = [0, 1, 2, 3];

const ANY_FILTER = {
  resourceTypeFilter: ResourceType.ANY,
  resourceNameFilter: null,
  patternTypeFilter: PatternType.ANY,
  principalFilter: null,
  hostFilter: null,
  operation: AclOperation.ANY,
  permissionType: AclPermissionType.ANY,
};

function creation(resourceName: string, overrides: Record<string, unknown> = {}) {
  return {
    resourceType: ResourceType.TOPIC,
    resourceName,
    resourcePatternType: PatternType.LITERAL,
    principal: 'User:alice',
    host: '*',
    operation: AclOperation.READ,
    permissionType: AclPermissionType.ALLOW,
    ...overrides,
  };
}

describe('without an authorizer', () => {
  let t: TestServer;
  let client: TestClient;
  beforeAll(async () => {
    t = await startServer();
    client = await TestClient.connect(t.port);
  });
  afterAll(async () => {
    client?.close();
    await t?.close();
  });

  for (const version of VERSIONS) {
    it(`v${version}: every ACL API answers SECURITY_DISABLED`, async () => {
      // v0 has no pattern type field: the filter decodes as LITERAL.
      const filter = { ...ANY_FILTER, patternTypeFilter: version === 0 ? PatternType.LITERAL : PatternType.ANY };
      const described = await client.send(DescribeAcls, version, filter);
      expect(described.errorCode).toBe(ErrorCode.SECURITY_DISABLED);
      expect(described.errorMessage).toMatch(/No Authorizer is configured/);
      const created = await client.send(CreateAcls, version, { creations: [creation('a'), creation('b')] });
      expect(created.results.map((result) => result.errorCode)).toEqual([ErrorCode.SECURITY_DISABLED, ErrorCode.SECURITY_DISABLED]);
      const deleted = await client.send(DeleteAcls, version, { filters: [filter] });
      expect(deleted.filterResults.map((result) => result.errorCode)).toEqual([ErrorCode.SECURITY_DISABLED]);
      expect(t.broker.aclBindings()).toEqual([]);
    });
  }
});

describe('with an authorizer', () => {
  let t: TestServer;
  let client: TestClient;
  beforeAll(async () => {
    t = await startServer({ server: { authorizer: {} } });
    client = await TestClient.connect(t.port);
  });
  afterAll(async () => {
    client?.close();
    await t?.close();
  });

  it('a caller without DESCRIBE / ALTER on the cluster gets CLUSTER_AUTHORIZATION_FAILED, and nothing changes', async () => {
    t.broker.createAcls([{ ...binding('seen'), operation: AclOperation.READ }]);
    for (const version of VERSIONS) {
      const filter = { ...ANY_FILTER, patternTypeFilter: PatternType.LITERAL };
      const described = await client.send(DescribeAcls, version, filter);
      expect(described.errorCode).toBe(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
      expect(described.resources).toEqual([]);
      const created = await client.send(CreateAcls, version, { creations: [creation('x')] });
      expect(created.results[0].errorCode).toBe(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
      const deleted = await client.send(DeleteAcls, version, { filters: [filter] });
      expect(deleted.filterResults[0].errorCode).toBe(ErrorCode.CLUSTER_AUTHORIZATION_FAILED);
    }
    expect(t.broker.aclBindings().map((acl) => acl.resourceName)).toEqual(['seen']);
    t.broker.deleteAcls([{ resourceType: ResourceType.ANY, resourceName: null, patternType: PatternType.ANY, principal: null, host: null, operation: AclOperation.ANY, permissionType: AclPermissionType.ANY }]);
  });

  describe('granted ALTER on the cluster (which implies DESCRIBE)', () => {
    beforeAll(() => {
      t.broker.createAcls([
        { resourceType: ResourceType.CLUSTER, resourceName: 'kafka-cluster', patternType: PatternType.LITERAL, principal: 'User:ANONYMOUS', host: '*', operation: AclOperation.ALTER, permissionType: AclPermissionType.ALLOW },
      ]);
    });

    for (const version of VERSIONS) {
      it(`v${version}: creates, describes and deletes bindings`, async () => {
        const name = `topic-v${version}`;
        // v0 carries no pattern type: every creation is LITERAL.
        const prefixed = version === 0 ? PatternType.LITERAL : PatternType.PREFIXED;
        const created = await client.send(CreateAcls, version, {
          creations: [
            creation(name),
            creation(name, { operation: AclOperation.WRITE, permissionType: AclPermissionType.DENY, host: '10.0.0.9' }),
            creation(`${name}-`, { resourcePatternType: prefixed, principal: 'User:*' }),
            creation('wrong', { resourceType: ResourceType.CLUSTER }),
            creation(name, { operation: AclOperation.ANY }),
          ],
        });
        expect(created.results.map((result) => result.errorCode)).toEqual([
          ErrorCode.NONE,
          ErrorCode.NONE,
          ErrorCode.NONE,
          ErrorCode.INVALID_REQUEST,
          ErrorCode.INVALID_REQUEST,
        ]);
        expect(created.results[3].errorMessage).toMatch(/only valid name for the CLUSTER resource is kafka-cluster/);

        const described = await client.send(DescribeAcls, version, {
          ...ANY_FILTER,
          resourceTypeFilter: ResourceType.TOPIC,
          patternTypeFilter: version === 0 ? PatternType.LITERAL : PatternType.MATCH,
          resourceNameFilter: version === 0 ? name : `${name}-x`,
        });
        expect(described.errorCode).toBe(ErrorCode.NONE);
        if (version === 0) {
          expect(described.resources).toEqual([
            {
              resourceType: ResourceType.TOPIC,
              resourceName: name,
              patternType: PatternType.LITERAL,
              acls: [
                { principal: 'User:alice', host: '*', operation: AclOperation.READ, permissionType: AclPermissionType.ALLOW },
                { principal: 'User:alice', host: '10.0.0.9', operation: AclOperation.WRITE, permissionType: AclPermissionType.DENY },
              ],
            },
          ]);
        } else {
          // MATCH on "<name>-x": the prefixed pattern applies, the literal ones do not.
          expect(described.resources).toEqual([
            {
              resourceType: ResourceType.TOPIC,
              resourceName: `${name}-`,
              patternType: PatternType.PREFIXED,
              acls: [{ principal: 'User:*', host: '*', operation: AclOperation.READ, permissionType: AclPermissionType.ALLOW }],
            },
          ]);
        }

        const deleted = await client.send(DeleteAcls, version, {
          filters: [
            { ...ANY_FILTER, patternTypeFilter: PatternType.LITERAL, resourceNameFilter: name, permissionType: AclPermissionType.DENY },
            { ...ANY_FILTER, patternTypeFilter: version === 0 ? PatternType.LITERAL : PatternType.ANY, principalFilter: 'User:nobody' },
            { ...ANY_FILTER, patternTypeFilter: PatternType.LITERAL, operation: 0 },
          ],
        });
        expect(deleted.filterResults.map((result) => result.errorCode)).toEqual([ErrorCode.NONE, ErrorCode.NONE, ErrorCode.INVALID_REQUEST]);
        expect(deleted.filterResults[0].matchingAcls).toEqual([
          {
            errorCode: ErrorCode.NONE,
            errorMessage: null,
            resourceType: ResourceType.TOPIC,
            resourceName: name,
            patternType: PatternType.LITERAL,
            principal: 'User:alice',
            host: '10.0.0.9',
            operation: AclOperation.WRITE,
            permissionType: AclPermissionType.DENY,
          },
        ]);
        expect(deleted.filterResults[1].matchingAcls).toEqual([]);
        const remaining = t.broker.aclBindings().filter((acl) => acl.resourceName.startsWith(name));
        expect(remaining.map((acl) => [acl.resourceName, acl.patternType, acl.operation])).toEqual([
          [name, PatternType.LITERAL, AclOperation.READ],
          [`${name}-`, prefixed, AclOperation.READ],
        ]);
      });
    }

    it('an ACL file that cannot be written fails the request and changes nothing', async () => {
      const blocker = join(t.dataDir, '__sluice_meta', 'acls.json.tmp');
      const before = t.broker.aclBindings();
      mkdirSync(blocker);
      try {
        const created = await client.send(CreateAcls, 3, { creations: [creation('blocked')] });
        expect(created.results[0].errorCode).toBe(ErrorCode.UNKNOWN_SERVER_ERROR);
        const deleted = await client.send(DeleteAcls, 3, { filters: [ANY_FILTER] });
        expect(deleted.filterResults[0].errorCode).toBe(ErrorCode.UNKNOWN_SERVER_ERROR);
        expect(t.broker.aclBindings()).toEqual(before);
      } finally {
        rmSync(blocker, { recursive: true, force: true });
      }
      expect((await client.send(CreateAcls, 3, { creations: [creation('blocked')] })).results[0].errorCode).toBe(ErrorCode.NONE);
    });

    it('a filter with an UNKNOWN element is INVALID_REQUEST for DescribeAcls', async () => {
      const described = await client.send(DescribeAcls, 3, { ...ANY_FILTER, resourceTypeFilter: ResourceType.UNKNOWN });
      expect(described.errorCode).toBe(ErrorCode.INVALID_REQUEST);
      expect(described.errorMessage).toMatch(/UNKNOWN/);
    });

    it('DELEGATION_TOKEN and USER resources are refused clearly', async () => {
      const created = await client.send(CreateAcls, 3, {
        creations: [creation('token', { resourceType: ResourceType.DELEGATION_TOKEN, operation: AclOperation.DESCRIBE }), creation('User:x', { resourceType: ResourceType.USER, operation: AclOperation.CREATE_TOKENS })],
      });
      expect(created.results.map((result) => result.errorCode)).toEqual([ErrorCode.INVALID_REQUEST, ErrorCode.INVALID_REQUEST]);
      expect(created.results[0].errorMessage).toMatch(/DELEGATION_TOKEN is not served/);
    });
  });
});

function binding(resourceName: string) {
  return {
    resourceType: ResourceType.TOPIC,
    resourceName,
    patternType: PatternType.LITERAL,
    principal: 'User:alice',
    host: '*',
    operation: AclOperation.READ,
    permissionType: AclPermissionType.ALLOW,
  };
}
