/**
 * `sluice schemas list|get|register|check`: a running Schema Registry's subjects and schemas
 * (--registry URL, default http://127.0.0.1:8081), as Confluent's REST API serves them. `check`
 * exits 1 when the schema is incompatible, printing why.
 */
import { readFile } from 'node:fs/promises';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { SchemaRegistryError } from '../../errors.js';
import { SchemaRegistryClient, type RegistrySchema, type RegistrySchemaType } from '../../client/schema-registry-client.js';
import { integerArg } from '../arguments.js';
import { printJson, printTable, writeOut } from '../output.js';
import { DEFAULT_SCHEMA_REGISTRY_PORT } from '../served-registry.js';

const SCHEMA_TYPE_NAMES: readonly RegistrySchemaType[] = ['AVRO', 'JSON', 'PROTOBUF'];

interface RegistryFlag {
  registry: string;
  json?: boolean;
}

interface SchemaFlags extends RegistryFlag {
  file?: string;
  schema?: string;
  type: RegistrySchemaType;
}

function addRegistryOption(command: Command): Command {
  return command.option('--registry <url>', 'the Schema Registry', `http://127.0.0.1:${DEFAULT_SCHEMA_REGISTRY_PORT}`);
}

function addSchemaOptions(command: Command): Command {
  return addRegistryOption(command)
    .addOption(new Option('--file <path>', 'read the schema from a file (.avsc, .json, .proto)').conflicts('schema'))
    .option('--schema <text>', 'the schema itself')
    .addOption(new Option('--type <type>', 'schema type').choices(SCHEMA_TYPE_NAMES).default('AVRO'));
}

async function schemaOf(flags: SchemaFlags, command: Command): Promise<RegistrySchema> {
  if (flags.file === undefined && flags.schema === undefined) command.error('error: give the schema with --file or --schema', { exitCode: 2 });
  const schema = flags.schema ?? (await readFile(flags.file!, 'utf8'));
  return { schemaType: flags.type, schema };
}

function versionArg(text: string): number | 'latest' {
  if (text === 'latest') return text;
  try {
    return integerArg(1, 2 ** 31 - 1)(text);
  } catch {
    throw new InvalidArgumentError(`expected a version from 1 to 2147483647 or latest, got "${text}"`);
  }
}

export function registerSchemas(program: Command): void {
  const schemas = program.command('schemas').description("list, show, register and check schemas in a Schema Registry");

  addRegistryOption(schemas.command('list').description('list subjects with their latest version and schema id').option('--json', 'print JSON')).action(
    async (flags: RegistryFlag) => {
      const client = new SchemaRegistryClient(flags.registry);
      const latest = await Promise.all((await client.subjects()).map((subject) => client.version(subject, 'latest')));
      if (flags.json === true) return printJson(latest.map(({ subject, version, id, schemaType }) => ({ subject, version, id, schemaType })));
      await printTable(
        ['SUBJECT', 'VERSION', 'ID', 'TYPE'],
        latest.map((entry) => [entry.subject, entry.version, entry.id, entry.schemaType]),
      );
    },
  );

  addRegistryOption(
    schemas
      .command('get')
      .description("print a subject's schema (the latest, or --version), or a schema by --id")
      .argument('[subject]', 'the subject')
      .option('--version <version>', 'a version number or latest', versionArg)
      .option('--id <id>', 'a global schema id instead of a subject', integerArg(0, 2 ** 31 - 1))
      .option('--json', 'print the whole answer as JSON'),
  ).action(async (subject: string | undefined, flags: RegistryFlag & { version?: number | 'latest'; id?: number }, command: Command) => {
    if ((subject === undefined) === (flags.id === undefined)) command.error('error: give a subject or --id, not both', { exitCode: 2 });
    const client = new SchemaRegistryClient(flags.registry);
    const answer = flags.id !== undefined ? await client.schemaById(flags.id) : await client.version(subject!, flags.version ?? 'latest');
    if (flags.json === true) return printJson(answer);
    await writeOut(`${answer.schema}\n`);
  });

  addSchemaOptions(schemas.command('register').description('register a schema under a subject; prints its id').argument('<subject>', 'the subject')).action(
    async (subject: string, flags: SchemaFlags, command: Command) => {
      const client = new SchemaRegistryClient(flags.registry);
      const id = await client.register(subject, await schemaOf(flags, command));
      await writeOut(`registered under ${subject} with id ${id}\n`);
    },
  );

  addSchemaOptions(
    schemas
      .command('check')
      .description("check a schema against a subject's compatibility level (or one --version) without registering it")
      .argument('<subject>', 'the subject')
      .option('--version <version>', 'check against this version only: a number or latest', versionArg),
  ).action(async (subject: string, flags: SchemaFlags & { version?: number | 'latest' }, command: Command) => {
    const client = new SchemaRegistryClient(flags.registry);
    const problems = await client.incompatibilities(subject, await schemaOf(flags, command), flags.version);
    if (problems.length === 0) return writeOut(`compatible with ${subject}\n`);
    await writeOut(`incompatible with ${subject}:\n${problems.map((problem) => `  ${problem}\n`).join('')}`);
    throw new SchemaRegistryError(409, 409, `the schema is incompatible with subject ${subject} (reasons above)`);
  });
}
