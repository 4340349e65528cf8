/**
 * `sluice acls list|create|delete` on a data directory, and against `sluice serve --authorizer`
 * with SASL users: the ACLs created on the stopped data directory are enforced once it is served,
 * the super user manages them over --bootstrap-server, and an ordinary user is refused.
 */
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliProcess, killRunning, lines, removeDir, runCli, tempDir } from './run-cli.js';

let root: string;

beforeAll(() => {
  root = tempDir();
});

afterAll(() => {
  killRunning();
  removeDir(root);
});

async function ok(args: string[], input?: string): Promise<string> {
  const result = await runCli(args, { input });
  expect(result.code, `sluice ${args.join(' ')}: ${result.stderr}`).toBe(0);
  return result.stdout;
}

describe('sluice acls on a data directory', () => {
  it('creates, lists (filters, MATCH) and deletes ACLs, which persist in the data directory', async () => {
    const d = ['--data-dir', `${root}/embedded`];
    expect(await ok(['acls', 'create', '--principal', 'User:alice', '--operation', 'read', '--operation', 'describe', '--topic', 'orders', ...d])).toBe('created 2 ACL(s)\n');
    expect(await ok(['acls', 'create', '--principal', 'User:*', '--operation', 'WRITE', '--topic', 'logs-', '--pattern-type', 'prefixed', ...d])).toBe('created 1 ACL(s)\n');
    expect(await ok(['acls', 'create', '--deny', '--principal', 'User:mallory', '--host', '10.0.0.9', '--operation', 'ALL', '--group', 'g', ...d])).toBe('created 1 ACL(s)\n');

    expect(lines(await ok(['acls', 'list', ...d]))).toEqual([
      expect.stringMatching(/^RESOURCE-TYPE\s+NAME\s+PATTERN\s+PRINCIPAL\s+HOST\s+OPERATION\s+PERMISSION$/),
      expect.stringMatching(/^TOPIC\s+orders\s+LITERAL\s+User:alice\s+\*\s+READ\s+ALLOW$/),
      expect.stringMatching(/^TOPIC\s+orders\s+LITERAL\s+User:alice\s+\*\s+DESCRIBE\s+ALLOW$/),
      expect.stringMatching(/^TOPIC\s+logs-\s+PREFIXED\s+User:\*\s+\*\s+WRITE\s+ALLOW$/),
      expect.stringMatching(/^GROUP\s+g\s+LITERAL\s+User:mallory\s+10\.0\.0\.9\s+ALL\s+DENY$/),
    ]);
    const matching = JSON.parse(await ok(['acls', 'list', '--topic', 'logs-app', '--pattern-type', 'match', '--json', ...d]));
    expect(matching).toEqual([{ resourceType: 'TOPIC', resourceName: 'logs-', patternType: 'PREFIXED', principal: 'User:*', host: '*', operation: 'WRITE', permissionType: 'ALLOW' }]);
    expect(JSON.parse(await ok(['acls', 'list', '--principal', 'User:alice', '--operation', 'read', '--json', ...d]))).toHaveLength(1);

    const deleted = JSON.parse(await ok(['acls', 'delete', '--principal', 'User:alice', '--json', ...d]));
    expect(deleted.map((acl: { operation: string }) => acl.operation)).toEqual(['READ', 'DESCRIBE']);
    expect(JSON.parse(await ok(['acls', 'list', '--json', ...d]))).toHaveLength(2);
  });

  it('refuses what Kafka refuses, and usage errors, with one line each', async () => {
    const d = ['--data-dir', `${root}/refusals`];
    const badPrincipal = await runCli(['acls', 'create', '--principal', 'alice', '--operation', 'read', '--topic', 't', ...d]);
    expect(badPrincipal.code).toBe(1);
    expect(lines(badPrincipal.stderr)).toEqual(['error: principal "alice" is not "<type>:<name>", for example "User:alice" or "User:*"']);
    const emptyName = await runCli(['acls', 'create', '--principal', 'User:a', '--operation', 'read', '--transactional-id', '', ...d]);
    expect(emptyName.code).toBe(1);
    expect(lines(emptyName.stderr)).toEqual(['error: Resource name should not be empty']);
    const noResource = await runCli(['acls', 'create', '--principal', 'User:a', '--operation', 'read', ...d]);
    expect(noResource.code).toBe(2);
    expect(noResource.stderr).toMatch(/create needs a resource/);
    const twoResources = await runCli(['acls', 'create', '--principal', 'User:a', '--operation', 'read', '--topic', 't', '--group', 'g', ...d]);
    expect(twoResources.code).toBe(2);
    const badOperation = await runCli(['acls', 'create', '--principal', 'User:a', '--operation', 'fly', '--topic', 't', ...d]);
    expect(badOperation.code).toBe(2);
    expect(badOperation.stderr).toMatch(/"fly" is not an operation/);
    const unfilteredDelete = await runCli(['acls', 'delete', ...d]);
    expect(unfilteredDelete.code).toBe(2);
    expect(unfilteredDelete.stderr).toMatch(/delete needs at least one of/);
  });
});

describe('sluice acls against sluice serve --authorizer', () => {
  it('enforces the ACLs of the data directory; the super user manages them over --bootstrap-server', async () => {
    const dataDir = `${root}/served`;
    const credentials = `${root}/users.json`;
    writeFileSync(credentials, JSON.stringify({ users: { admin: { password: 'admin-pw' }, alice: { password: 'alice-pw' } } }));
    await ok(['topics', 'create', 'orders', '--data-dir', dataDir]);
    await ok(['acls', 'create', '--principal', 'User:alice', '--operation', 'DESCRIBE', '--topic', 'orders', '--data-dir', dataDir]);

    const usage = await runCli(['serve', '--data-dir', dataDir, '--super-users', 'User:admin']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/need --authorizer/);

    const server = new CliProcess([
      'serve', '--data-dir', dataDir, '--port', '0', '--shards', '1',
      '--sasl-mechanisms', 'PLAIN', '--sasl-credentials-file', credentials,
      '--authorizer', '--super-users', 'User:admin',
    ]);
    await server.waitForStdout((stdout) => stdout.includes('\n'), 'the listening line');
    const bootstrap = /^listening on (127\.0\.0\.1:\d+)\n$/.exec(server.stdout)![1];
    const as = (user: string): string[] => ['--bootstrap-server', bootstrap, '--sasl-mechanism', 'plain', '--sasl-username', user, '--sasl-password', `${user}-pw`];

    // alice may describe orders (the ACL made on the data directory) but not write it.
    expect(JSON.parse(await ok(['topics', 'list', '--json', ...as('alice')]))).toEqual([{ name: 'orders', partitions: 1 }]);
    const refused = await runCli(['produce', 'orders', ...as('alice')], { input: 'x\n' });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/authoriz/i);
    const notAdmin = await runCli(['acls', 'list', ...as('alice')]);
    expect(notAdmin.code).toBe(1);
    expect(notAdmin.stderr).toMatch(/authoriz/i);

    expect(await ok(['acls', 'create', '--principal', 'User:alice', '--operation', 'WRITE', '--topic', 'orders', ...as('admin')])).toBe('created 1 ACL(s)\n');
    await ok(['produce', 'orders', ...as('alice')], 'x\n');
    expect(JSON.parse(await ok(['acls', 'list', '--principal', 'User:alice', '--json', ...as('admin')])).map((acl: { operation: string }) => acl.operation)).toEqual([
      'DESCRIBE',
      'WRITE',
    ]);
    expect(JSON.parse(await ok(['acls', 'delete', '--operation', 'WRITE', '--topic', 'orders', '--json', ...as('admin')]))).toHaveLength(1);
    expect((await runCli(['produce', 'orders', ...as('alice')], { input: 'y\n' })).code).toBe(1);

    server.child.kill('SIGTERM');
    expect((await server.exited).code).toBe(0);
  });
});
