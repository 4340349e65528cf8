/**
 * The registry from the command line: `sluice schema-registry` on a data directory,
 * `sluice serve --schema-registry-port` in the serving process, and `sluice schemas
 * list|get|register|check` against them; ids survive a restart of the command.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CliProcess, killRunning, lines, removeDir, runCli, tempDir } from '../cli/run-cli.js';

const USER = JSON.stringify({ type: 'record', name: 'User', fields: [{ name: 'name', type: 'string' }] });
const USER_BAD = JSON.stringify({ type: 'record', name: 'User', fields: [{ name: 'name', type: 'int' }] });

/** Each CLI run starts a Node process (about a second on an idle 2-core machine, several under load). */
const CLI_TEST_TIMEOUT_MS = 180_000;

let dir: string;

beforeEach(() => {
  dir = tempDir();
});

afterEach(() => {
  killRunning();
  removeDir(dir);
});

/** Starts `sluice <args>` and resolves with the registry URL it announces. */
async function startRegistry(args: string[]): Promise<{ cli: CliProcess; url: string }> {
  const cli = new CliProcess(args);
  await cli.waitForStdout((out) => /schema registry listening on (\S+)\n/.test(out), 'the schema registry line');
  return { cli, url: /schema registry listening on (\S+)\n/.exec(cli.stdout)![1] };
}

async function stop(cli: CliProcess): Promise<void> {
  cli.child.kill('SIGTERM');
  const result = await cli.exited;
  expect(result.code, result.stderr).toBe(0);
}

describe('sluice schema-registry and sluice schemas', () => {
  it('registers, lists, gets and checks schemas, and keeps ids across a restart', async () => {
    const dataDir = join(dir, 'data');
    const schemaFile = join(dir, 'user.avsc');
    writeFileSync(schemaFile, USER);
    let { cli, url } = await startRegistry(['schema-registry', '--port', '0', '--data-dir', dataDir]);
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const registered = await runCli(['schemas', 'register', 'users-value', '--file', schemaFile, '--registry', url]);
    expect(registered.stdout).toBe('registered under users-value with id 1\n');
    const listed = await runCli(['schemas', 'list', '--registry', url]);
    expect(lines(listed.stdout).slice(1).map((line) => line.split(/\s+/))).toEqual([['users-value', '1', '1', 'AVRO']]);
    expect(JSON.parse((await runCli(['schemas', 'get', 'users-value', '--registry', url])).stdout)).toEqual(JSON.parse(USER));

    const compatible = await runCli(['schemas', 'check', 'users-value', '--schema', USER, '--registry', url]);
    expect(compatible).toMatchObject({ code: 0, stdout: 'compatible with users-value\n' });
    const incompatible = await runCli(['schemas', 'check', 'users-value', '--schema', USER_BAD, '--registry', url]);
    expect(incompatible.code).toBe(1);
    expect(incompatible.stdout).toContain('incompatible with users-value:');
    expect(incompatible.stderr).toContain('the schema is incompatible with subject users-value');
    const refused = await runCli(['schemas', 'register', 'users-value', '--schema', USER_BAD, '--registry', url]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('incompatible with an earlier schema');

    await stop(cli);
    ({ cli, url } = await startRegistry(['schema-registry', '--port', '0', '--data-dir', dataDir]));
    const byId = await runCli(['schemas', 'get', '--id', '1', '--json', '--registry', url]);
    expect(JSON.parse(byId.stdout)).toMatchObject({ schemaType: 'AVRO', schema: expect.stringContaining('"User"') });
    const other = JSON.stringify({ type: 'record', name: 'Other', fields: [] });
    expect((await runCli(['schemas', 'register', 'other-value', '--schema', other, '--registry', url])).stdout).toBe('registered under other-value with id 2\n');
    await stop(cli);
  }, CLI_TEST_TIMEOUT_MS);

  it('says which registry it cannot reach', async () => {
    const result = await runCli(['schemas', 'list', '--registry', 'http://127.0.0.1:1']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: cannot reach the schema registry at http:\/\/127\.0\.0\.1:1 \(.*\); is it running there\?\n$/);
  }, CLI_TEST_TIMEOUT_MS);

  it('refuses usage errors with exit code 2', async () => {
    expect((await runCli(['schemas', 'register', 's'])).code).toBe(2);
    expect((await runCli(['schemas', 'get'])).code).toBe(2);
    expect((await runCli(['schemas', 'register', 's', '--schema', '{}', '--type', 'XML'])).code).toBe(2);
    expect((await runCli(['schema-registry', '--data-dir', dir, '--bootstrap-server', '127.0.0.1:9092'])).code).toBe(2);
  }, CLI_TEST_TIMEOUT_MS);
});

describe('sluice serve --schema-registry-port', () => {
  it('serves the registry in the same process, its schemas in the served broker', async () => {
    const dataDir = join(dir, 'served');
    const { cli, url } = await startRegistry(['serve', '--port', '0', '--data-dir', dataDir, '--schema-registry-port', '0']);
    expect(cli.stdout).toMatch(/^listening on 127\.0\.0\.1:\d+\nschema registry listening on http:\/\/127\.0\.0\.1:\d+\n$/);
    const bootstrap = /^listening on (\S+)\n/.exec(cli.stdout)![1];
    expect((await runCli(['schemas', 'register', 'served-value', '--schema', USER, '--registry', url])).stdout).toBe('registered under served-value with id 1\n');
    const topics = await runCli(['topics', 'describe', '_schemas', '--bootstrap-server', bootstrap]);
    expect(topics.stdout).toContain('cleanup.policy=compact');
    await stop(cli);
  }, CLI_TEST_TIMEOUT_MS);
});
