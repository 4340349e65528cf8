/**
 * What the three schema types share: a parsed schema knows its canonical text (what is stored,
 * served and compared, so the same schema registered twice gets the same id) and says why a
 * reader of it could not read data written with another schema of its type. The registry's
 * compatibility levels are built on that one question (compatibility.ts).
 *
 * Also here: Confluent's error answers, one function each, with its codes and message texts.
 */
import { SchemaRegistryError } from '../errors.js';

export const SCHEMA_TYPES = ['AVRO', 'JSON', 'PROTOBUF'] as const;
export type SchemaType = (typeof SCHEMA_TYPES)[number];

/** A reference from one schema to another registered one, as Confluent's API writes it. */
export interface SchemaReference {
  /** How the referring schema names it: an Avro full name, a JSON Schema $ref URL, a .proto import path. */
  name: string;
  subject: string;
  version: number;
}

/** A referenced schema, resolved: its type and canonical text, under the name the referrer uses. */
export interface ResolvedReference {
  name: string;
  schemaType: SchemaType;
  schema: string;
}

export interface ParsedSchema {
  readonly schemaType: SchemaType;
  /** The normalized text: stored in _schemas, served by GET, and compared when looking up ids. */
  readonly canonical: string;
  /**
   * Why a consumer using this schema could not read data written with `writer` (same type);
   * empty when it can. Each entry names the change, as Confluent's compatibility messages do.
   */
  readerIncompatibilities(writer: ParsedSchema): string[];
}

export interface SchemaProvider {
  readonly schemaType: SchemaType;
  /**
   * Parses `text`; `references` are every schema it refers to, directly or not, dependencies
   * first. Throws invalidSchema() for a schema that does not parse.
   */
  parse(text: string, references: readonly ResolvedReference[]): ParsedSchema;
}

export function isSchemaType(value: unknown): value is SchemaType {
  return typeof value === 'string' && (SCHEMA_TYPES as readonly string[]).includes(value);
}

// Confluent's error answers (io.confluent.kafka.schemaregistry.rest.exceptions.Errors).

export function subjectNotFound(subject: string): SchemaRegistryError {
  return new SchemaRegistryError(404, 40401, `Subject '${subject}' not found.`);
}

export function versionNotFound(version: number | string): SchemaRegistryError {
  return new SchemaRegistryError(404, 40402, `Version ${version} not found.`);
}

export function schemaNotFound(id?: number): SchemaRegistryError {
  return new SchemaRegistryError(404, 40403, id === undefined ? 'Schema not found' : `Schema ${id} not found`);
}

export function subjectSoftDeleted(subject: string): SchemaRegistryError {
  return new SchemaRegistryError(404, 40404, `Subject '${subject}' was soft deleted.Set permanent=true to delete permanently`);
}

export function subjectNotSoftDeleted(subject: string): SchemaRegistryError {
  return new SchemaRegistryError(404, 40405, `Subject '${subject}' was not deleted first before being permanently deleted`);
}

export function versionSoftDeleted(subject: string, version: number): SchemaRegistryError {
  return new SchemaRegistryError(404, 40406, `Subject '${subject}' Version ${version} was soft deleted.Set permanent=true to delete permanently`);
}

export function versionNotSoftDeleted(subject: string, version: number): SchemaRegistryError {
  return new SchemaRegistryError(404, 40407, `Subject '${subject}' Version ${version} was not deleted first before being permanently deleted`);
}

export function subjectCompatibilityNotConfigured(subject: string): SchemaRegistryError {
  return new SchemaRegistryError(404, 40408, `Subject '${subject}' does not have subject-level compatibility configured`);
}

export function subjectModeNotConfigured(subject: string): SchemaRegistryError {
  return new SchemaRegistryError(404, 40409, `Subject '${subject}' does not have subject-level mode configured`);
}

export function incompatibleSchema(subject: string, details: readonly string[]): SchemaRegistryError {
  return new SchemaRegistryError(
    409,
    409,
    `Schema being registered is incompatible with an earlier schema for subject "${subject}", details: [${details.join(', ')}]`,
  );
}

export function invalidSchema(message: string): SchemaRegistryError {
  return new SchemaRegistryError(422, 42201, message);
}

export function invalidVersion(version: string): SchemaRegistryError {
  return new SchemaRegistryError(
    422,
    42202,
    `The specified version '${version}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string "latest"`,
  );
}

export function invalidCompatibilityLevel(): SchemaRegistryError {
  return new SchemaRegistryError(
    422,
    42203,
    'Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive',
  );
}

export function invalidMode(): SchemaRegistryError {
  return new SchemaRegistryError(422, 42204, 'Invalid mode. Valid values are READWRITE, READONLY, IMPORT and FORWARD.');
}

export function operationNotPermitted(message: string): SchemaRegistryError {
  return new SchemaRegistryError(422, 42205, message);
}

export function referenceExists(message: string): SchemaRegistryError {
  return new SchemaRegistryError(422, 42206, message);
}

export function invalidSubject(subject: string): SchemaRegistryError {
  return new SchemaRegistryError(422, 42208, `The specified subject '${subject}' is not a valid.`);
}
