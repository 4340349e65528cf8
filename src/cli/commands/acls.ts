/**
 * `sluice acls list|create|delete`: the ACL bindings a server started with `--authorizer`
 * enforces, on a data directory or against a server (where the caller needs DESCRIBE, or ALTER, on
 * the cluster), after kafka-acls.sh:
 *
 *   sluice acls create --principal User:alice --operation READ --operation DESCRIBE --topic orders
 *   sluice acls create --principal User:* --operation WRITE --topic logs- --pattern-type prefixed
 *   sluice acls create --deny --principal User:mallory --host 10.0.0.9 --operation ALL --group g
 *   sluice acls list [--topic orders --pattern-type match] [--principal User:alice] [--json]
 *   sluice acls delete --principal User:alice --topic orders
 *
 * A resource is one of --topic, --group, --transactional-id or --cluster. list and delete take the
 * same options as filters: each one left out matches everything; delete needs at least one.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import {
  AclOperation,
  AclPermissionType,
  CLUSTER_NAME,
  CONCRETE_OPERATIONS,
  PatternType,
  ResourceType,
  WILDCARD,
  codeName,
  type AclOperationName,
} from '../../broker/acl/acl.js';
import type { AclEntry, AclFilter } from '../../client/admin.js';
import { addConnectionOptions, withConnection } from '../connection.js';
import { printJson, printTable, writeOut } from '../output.js';

interface AclFlags {
  principal?: string;
  host?: string;
  operation?: AclOperationName[];
  topic?: string;
  group?: string;
  transactionalId?: string;
  cluster?: boolean;
  patternType?: string;
  deny?: boolean;
  json?: boolean;
}

interface Resource {
  resourceType: number;
  resourceName: string | null;
}

export function registerAcls(program: Command): void {
  const acls = program.command('acls').description('list, create and delete ACLs (enforced by `sluice serve --authorizer`)');

  addConnectionOptions(
    resourceOptions(acls.command('list').description('the ACLs matching the options (all without any)'), ['any', 'match', 'literal', 'prefixed'])
      .option('--principal <principal>', 'only ACLs of this principal, e.g. User:alice')
      .option('--host <host>', 'only ACLs of this host')
      .option('--operation <operation>', `only ACLs of this operation: ${CONCRETE_OPERATIONS.join(', ')}`, operationArg)
      .option('--json', 'print JSON'),
  ).action(async (flags: AclFlags, command: Command) => {
    await withConnection(command, async (connection) => {
      const entries = await connection.describeAcls(filterOf(command, flags));
      await printEntries(entries, flags.json === true);
    }, true);
  });

  addConnectionOptions(
    resourceOptions(acls.command('create').description('add ACLs: one per --operation, for the principal on the resource'), ['literal', 'prefixed'])
      .requiredOption('--principal <principal>', 'who: User:<name>, or User:* for everyone')
      .requiredOption('--operation <operation>', `what: ${CONCRETE_OPERATIONS.join(', ')}; repeat for more`, operationsArg)
      .option('--host <host>', 'from which IP address (default: any host)', WILDCARD)
      .option('--deny', 'a DENY ACL (default ALLOW); a DENY wins over every ALLOW'),
  ).action(async (flags: AclFlags, command: Command) => {
    const resource = resourceOf(command, flags);
    if (resource.resourceName === null) command.error('error: create needs a resource: --topic, --group, --transactional-id or --cluster', { exitCode: 2 });
    const entries = flags.operation!.map(
      (operation): AclEntry => ({
        resourceType: resource.resourceType,
        resourceName: resource.resourceName!,
        resourcePatternType: patternTypeOf(flags.patternType ?? 'literal'),
        principal: flags.principal!,
        host: flags.host!,
        operation: AclOperation[operation],
        permissionType: flags.deny === true ? AclPermissionType.DENY : AclPermissionType.ALLOW,
      }),
    );
    await withConnection(command, async (connection) => {
      await connection.createAcls(entries);
      await writeOut(`created ${entries.length} ACL(s)\n`);
    });
  });

  addConnectionOptions(
    resourceOptions(acls.command('delete').description('remove the ACLs matching the options'), ['any', 'match', 'literal', 'prefixed'])
      .option('--principal <principal>', 'only ACLs of this principal')
      .option('--host <host>', 'only ACLs of this host')
      .option('--operation <operation>', 'only ACLs of this operation', operationArg)
      .option('--json', 'print the removed ACLs as JSON'),
  ).action(async (flags: AclFlags, command: Command) => {
    const filter = filterOf(command, flags);
    if (filter.resourceName === null && filter.resourceType === ResourceType.ANY && flags.principal === undefined && flags.host === undefined && flags.operation === undefined) {
      command.error('error: delete needs at least one of --topic, --group, --transactional-id, --cluster, --principal, --host, --operation', { exitCode: 2 });
    }
    await withConnection(command, async (connection) => {
      const deleted = await connection.deleteAcls(filter);
      if (flags.json === true) return printJson(deleted.map(describeEntry));
      await writeOut(`deleted ${deleted.length} ACL(s)\n`);
      if (deleted.length > 0) await printEntries(deleted, false);
    });
  });
}

function resourceOptions(command: Command, patternTypes: readonly string[]): Command {
  return command
    .option('--topic <name>', 'a topic (with --pattern-type prefixed: every topic starting so; * for every topic)')
    .option('--group <id>', 'a consumer group')
    .option('--transactional-id <id>', 'a transactional id')
    .option('--cluster', `the cluster (${CLUSTER_NAME})`)
    .addOption(new Option('--pattern-type <type>', 'how the resource name matches').choices(patternTypes));
}

function resourceOf(command: Command, flags: AclFlags): Resource {
  const given: Resource[] = [];
  if (flags.topic !== undefined) given.push({ resourceType: ResourceType.TOPIC, resourceName: flags.topic });
  if (flags.group !== undefined) given.push({ resourceType: ResourceType.GROUP, resourceName: flags.group });
  if (flags.transactionalId !== undefined) given.push({ resourceType: ResourceType.TRANSACTIONAL_ID, resourceName: flags.transactionalId });
  if (flags.cluster === true) given.push({ resourceType: ResourceType.CLUSTER, resourceName: CLUSTER_NAME });
  if (given.length > 1) command.error('error: give one resource: --topic, --group, --transactional-id or --cluster', { exitCode: 2 });
  return given[0] ?? { resourceType: ResourceType.ANY, resourceName: null };
}

function filterOf(command: Command, flags: AclFlags): AclFilter {
  const resource = resourceOf(command, flags);
  return {
    ...resource,
    resourcePatternType: patternTypeOf(flags.patternType ?? 'any'),
    principal: flags.principal ?? null,
    host: flags.host ?? null,
    operation: flags.operation === undefined ? AclOperation.ANY : AclOperation[flags.operation[0]],
    permissionType: AclPermissionType.ANY,
  };
}

function patternTypeOf(name: string): number {
  return PatternType[name.toUpperCase() as keyof typeof PatternType];
}

function operationArg(text: string): AclOperationName[] {
  const name = text.trim().toUpperCase().replaceAll('-', '_') as AclOperationName;
  if (!CONCRETE_OPERATIONS.includes(name)) throw new InvalidArgumentError(`"${text}" is not an operation; use one of ${CONCRETE_OPERATIONS.join(', ')}`);
  return [name];
}

function operationsArg(text: string, previous: AclOperationName[] = []): AclOperationName[] {
  return [...previous, ...operationArg(text)];
}

function describeEntry(entry: AclEntry): Record<string, string> {
  return {
    resourceType: codeName(ResourceType, entry.resourceType),
    resourceName: entry.resourceName,
    patternType: codeName(PatternType, entry.resourcePatternType),
    principal: entry.principal,
    host: entry.host,
    operation: codeName(AclOperation, entry.operation),
    permissionType: codeName(AclPermissionType, entry.permissionType),
  };
}

async function printEntries(entries: readonly AclEntry[], json: boolean): Promise<void> {
  const rows = entries.map(describeEntry);
  if (json) return printJson(rows);
  await printTable(
    ['RESOURCE-TYPE', 'NAME', 'PATTERN', 'PRINCIPAL', 'HOST', 'OPERATION', 'PERMISSION'],
    rows.map((row) => [row.resourceType, row.resourceName, row.patternType, row.principal, row.host, row.operation, row.permissionType]),
  );
}
