/**
 * The Schema Registry's state and operations, independent of HTTP: subjects with their versions,
 * schemas by global id, compatibility levels and modes, global and per subject.
 *
 * The state is what the _schemas topic says. Its records use Confluent's key and value JSON
 * (keytype SCHEMA / CONFIG / MODE / DELETE_SUBJECT, magic), so the topic reads the same as a
 * Confluent registry's: replaying it rebuilds every subject, version and id, which is why ids are
 * stable across restarts. A change is written to the topic first and applied once written;
 * writes go one at a time, so an id is handed out once.
 */
import { SchemaRegistryError } from '../errors.js';
import { avroProvider } from './avro-schema.js';
import { checkCompatibility, COMPATIBILITY_LEVELS, type CompatibilityLevel } from './compatibility.js';
import { jsonSchemaProvider } from './json-schema.js';
import { protobufProvider, type ProtobufSchema } from './protobuf-schema.js';
import {
  invalidSchema,
  invalidVersion,
  operationNotPermitted,
  referenceExists,
  schemaNotFound,
  subjectCompatibilityNotConfigured,
  subjectModeNotConfigured,
  subjectNotFound,
  subjectNotSoftDeleted,
  subjectSoftDeleted,
  incompatibleSchema,
  versionNotFound,
  versionNotSoftDeleted,
  versionSoftDeleted,
  type ParsedSchema,
  type ResolvedReference,
  type SchemaProvider,
  type SchemaReference,
  type SchemaType,
} from './schema.js';
import type { SchemaLog, SchemaLogRecord } from './schema-log.js';

export const DEFAULT_COMPATIBILITY: CompatibilityLevel = 'BACKWARD';
export const MODES = ['READWRITE', 'READONLY', 'IMPORT'] as const;
export type Mode = (typeof MODES)[number];

const PROVIDERS: Record<SchemaType, SchemaProvider> = {
  AVRO: avroProvider,
  JSON: jsonSchemaProvider,
  PROTOBUF: protobufProvider,
};

/** What a client asks to register or look up. */
export interface SchemaRequest {
  schema: string;
  schemaType: SchemaType;
  references: SchemaReference[];
}

export interface StoredSchema {
  id: number;
  schemaType: SchemaType;
  schema: string;
  references: SchemaReference[];
}

export interface SubjectVersion extends StoredSchema {
  subject: string;
  version: number;
  deleted: boolean;
}

/** Confluent's _schemas key: `{"keytype":"SCHEMA","subject":"s","version":1,"magic":1}` and kin. */
interface LogKey {
  keytype: 'SCHEMA' | 'CONFIG' | 'MODE' | 'DELETE_SUBJECT' | 'NOOP' | string;
  subject?: string | null;
  version?: number;
  magic: number;
}

interface SchemaValue {
  subject: string;
  version: number;
  id: number;
  schemaType?: SchemaType;
  references?: SchemaReference[];
  schema: string;
  deleted: boolean;
}

/** The key Confluent writes for the global config and mode: no subject. */
const GLOBAL = '';

function sameReferences(a: readonly SchemaReference[], b: readonly SchemaReference[]): boolean {
  return a.length === b.length && a.every((ref, i) => ref.name === b[i].name && ref.subject === b[i].subject && ref.version === b[i].version);
}

export class SchemaRegistry {
  private readonly subjects = new Map<string, Map<number, SubjectVersion>>();
  private readonly schemasById = new Map<number, StoredSchema>();
  private readonly parsedById = new Map<number, ParsedSchema>();
  /** Each schema's identity (type, canonical text, references) to its id: the same schema keeps one id. */
  private readonly idsBySchema = new Map<string, number>();
  private readonly compatibility = new Map<string, CompatibilityLevel>();
  private readonly modes = new Map<string, Mode>();
  private maxId = 0;
  /** Writes in flight, chained: each sees the state the previous one left. */
  private writing: Promise<unknown> = Promise.resolve();

  private constructor(private readonly log: SchemaLog) {}

  /** Rebuilds the state from the log, then serves from it. */
  static async open(log: SchemaLog): Promise<SchemaRegistry> {
    const registry = new SchemaRegistry(log);
    await log.replay((record) => registry.apply(record));
    return registry;
  }

  close(): Promise<void> {
    return this.writing.then(() => this.log.close(), () => this.log.close());
  }

  // Reads.

  listSubjects(includeDeleted: boolean): string[] {
    return [...this.subjects.entries()]
      .filter(([, versions]) => [...versions.values()].some((entry) => includeDeleted || !entry.deleted))
      .map(([subject]) => subject)
      .sort();
  }

  /** Every subject version (GET /schemas), by subject then version; `latestOnly`: each subject's newest. */
  listSchemas(subjectPrefix: string, includeDeleted: boolean, latestOnly: boolean): SubjectVersion[] {
    const result: SubjectVersion[] = [];
    for (const subject of [...this.subjects.keys()].sort()) {
      if (!subject.startsWith(subjectPrefix)) continue;
      const versions = this.liveVersions(subject, includeDeleted);
      result.push(...(latestOnly ? versions.slice(-1) : versions));
    }
    return result;
  }

  listVersions(subject: string, includeDeleted: boolean): number[] {
    const versions = this.liveVersions(subject, includeDeleted);
    if (versions.length === 0) throw subjectNotFound(subject);
    return versions.map((entry) => entry.version);
  }

  /** `version`: a number, -1 or "latest" for the newest. */
  getVersion(subject: string, version: string, includeDeleted = false): SubjectVersion {
    const number = parseVersion(version);
    const versions = this.liveVersions(subject, includeDeleted);
    if (versions.length === 0) throw subjectNotFound(subject);
    if (number === -1) return versions[versions.length - 1];
    const entry = versions.find((candidate) => candidate.version === number);
    if (entry === undefined) throw versionNotFound(number);
    return entry;
  }

  getSchemaById(id: number): StoredSchema {
    const schema = this.schemasById.get(id);
    if (schema === undefined) throw schemaNotFound(id);
    return schema;
  }

  /** The subject-version pairs using schema `id`. */
  versionsOfId(id: number, includeDeleted = false): { subject: string; version: number }[] {
    this.getSchemaById(id);
    const pairs: { subject: string; version: number }[] = [];
    for (const [subject, versions] of this.subjects) {
      for (const entry of versions.values()) {
        if (entry.id === id && (includeDeleted || !entry.deleted)) pairs.push({ subject, version: entry.version });
      }
    }
    return pairs;
  }

  /**
   * The schema's text in a format Confluent's clients ask for: `serialized` turns a PROTOBUF
   * schema into a base64 FileDescriptorProto; otherwise (and for other types) the stored text.
   */
  formatted(stored: StoredSchema, format: string | undefined): string {
    if (format !== 'serialized' || stored.schemaType !== 'PROTOBUF') return stored.schema;
    return (this.parseStored(stored) as ProtobufSchema).serialized();
  }

  /** The ids of the schemas whose references name this subject version. */
  referencedBy(subject: string, version: string): number[] {
    const target = this.getVersion(subject, version);
    const ids = new Set<number>();
    for (const versions of this.subjects.values()) {
      for (const entry of versions.values()) {
        if (!entry.deleted && entry.references.some((ref) => ref.subject === subject && ref.version === target.version)) ids.add(entry.id);
      }
    }
    return [...ids].sort((a, b) => a - b);
  }

  /** The subject's version holding this schema (POST /subjects/{s}). */
  lookup(subject: string, request: SchemaRequest, includeDeleted = false): SubjectVersion {
    const versions = this.liveVersions(subject, includeDeleted);
    if (versions.length === 0) throw subjectNotFound(subject);
    const parsed = this.parse(request);
    const found = versions.find((entry) => this.sameSchema(entry, request.schemaType, parsed.canonical, request.references));
    if (found === undefined) throw schemaNotFound();
    return found;
  }

  /** The global level, or the subject's (`defaultToGlobal`: the global one when it has none). */
  getCompatibility(subject: string | null, defaultToGlobal = false): CompatibilityLevel {
    if (subject === null) return this.compatibility.get(GLOBAL) ?? DEFAULT_COMPATIBILITY;
    const level = this.compatibility.get(subject);
    if (level !== undefined) return level;
    if (!defaultToGlobal) throw subjectCompatibilityNotConfigured(subject);
    return this.getCompatibility(null);
  }

  getMode(subject: string | null, defaultToGlobal = false): Mode {
    if (subject === null) return this.modes.get(GLOBAL) ?? 'READWRITE';
    const mode = this.modes.get(subject);
    if (mode !== undefined) return mode;
    if (!defaultToGlobal) throw subjectModeNotConfigured(subject);
    return this.getMode(null);
  }

  /**
   * Whether `request` may be registered under `subject` against version `version` ("latest", a
   * number) or, with null, against what the subject's level compares it with. Resolves with the
   * incompatibilities found (empty: compatible).
   */
  testCompatibility(subject: string, request: SchemaRequest, version: string | null): string[] {
    const parsed = this.parse(request);
    const level = this.effectiveCompatibility(subject);
    const live = this.liveVersions(subject, false);
    if (version === null) return checkCompatibility(level, parsed, live.map((entry) => this.parseStored(entry)));
    if (live.length === 0) throw subjectNotFound(subject);
    const target = this.getVersion(subject, version);
    // Against one version, the transitive levels mean their plain form.
    return checkCompatibility(level, parsed, [this.parseStored(target)]);
  }

  // Writes.

  /** Registers the schema under the subject (a new version unless it is there); resolves with its id. */
  register(subject: string, request: SchemaRequest & { id?: number; version?: number }): Promise<SubjectVersion> {
    return this.serialized(async () => {
      const mode = this.getMode(subject, true);
      if (mode === 'READONLY') throw operationNotPermitted(`Subject ${subject} is in read-only mode`);
      const imported = request.id !== undefined || request.version !== undefined;
      if (imported && mode !== 'IMPORT') throw operationNotPermitted(`Subject ${subject} is not in import mode; an id or version can be given only in IMPORT mode`);
      const parsed = this.parse(request);
      const versions = this.subjects.get(subject);
      const all = versions === undefined ? [] : [...versions.values()].sort((a, b) => a.version - b.version);
      const existing = all.find((entry) => !entry.deleted && this.sameSchema(entry, request.schemaType, parsed.canonical, request.references));
      if (existing !== undefined && !imported) return existing;

      if (mode !== 'IMPORT') {
        const live = all.filter((entry) => !entry.deleted);
        const problems = checkCompatibility(this.effectiveCompatibility(subject), parsed, live.map((entry) => this.parseStored(entry)));
        if (problems.length > 0) throw incompatibleSchema(subject, problems);
      }
      const id = request.id ?? this.idFor(request.schemaType, parsed.canonical, request.references) ?? this.maxId + 1;
      if (request.id !== undefined) {
        const holder = this.schemasById.get(request.id);
        if (holder !== undefined && !this.sameSchema(holder, request.schemaType, parsed.canonical, request.references)) {
          throw new SchemaRegistryError(422, 42207, `Schema id ${request.id} already holds another schema`);
        }
      }
      const version = request.version ?? (all.length === 0 ? 1 : all[all.length - 1].version + 1);
      const value: SchemaValue = {
        subject,
        version,
        id,
        ...(request.schemaType === 'AVRO' ? {} : { schemaType: request.schemaType }),
        ...(request.references.length === 0 ? {} : { references: request.references }),
        schema: parsed.canonical,
        deleted: false,
      };
      await this.write({ keytype: 'SCHEMA', subject, version, magic: 1 }, value);
      return this.subjects.get(subject)!.get(version)!;
    });
  }

  /** Soft deletes (or with `permanent`, removes a soft-deleted) version; resolves with its number. */
  deleteVersion(subject: string, version: string, permanent: boolean): Promise<number> {
    return this.serialized(async () => {
      this.checkWritable(subject);
      const entry = this.getVersion(subject, version, true);
      if (permanent && !entry.deleted) throw versionNotSoftDeleted(subject, entry.version);
      if (!permanent && entry.deleted) throw versionSoftDeleted(subject, entry.version);
      this.checkNotReferenced(subject, [entry.version]);
      if (permanent) await this.write({ keytype: 'SCHEMA', subject, version: entry.version, magic: 1 }, null);
      else await this.write({ keytype: 'SCHEMA', subject, version: entry.version, magic: 1 }, { ...this.valueOf(entry), deleted: true });
      return entry.version;
    });
  }

  /** Soft deletes every version of the subject, or removes them all once soft-deleted. */
  deleteSubject(subject: string, permanent: boolean): Promise<number[]> {
    return this.serialized(async () => {
      this.checkWritable(subject);
      const all = [...(this.subjects.get(subject)?.values() ?? [])].sort((a, b) => a.version - b.version);
      if (all.length === 0) throw subjectNotFound(subject);
      const live = all.filter((entry) => !entry.deleted);
      if (permanent && live.length > 0) throw subjectNotSoftDeleted(subject);
      if (!permanent && live.length === 0) throw subjectSoftDeleted(subject);
      this.checkNotReferenced(subject, all.map((entry) => entry.version));
      if (permanent) {
        for (const entry of all) await this.write({ keytype: 'SCHEMA', subject, version: entry.version, magic: 1 }, null);
        if (this.compatibility.has(subject)) await this.write({ keytype: 'CONFIG', subject, magic: 0 }, null);
        if (this.modes.has(subject)) await this.write({ keytype: 'MODE', subject, magic: 0 }, null);
        return all.map((entry) => entry.version);
      }
      for (const entry of live) await this.write({ keytype: 'SCHEMA', subject, version: entry.version, magic: 1 }, { ...this.valueOf(entry), deleted: true });
      await this.write({ keytype: 'DELETE_SUBJECT', subject, magic: 0 }, { subject, version: live[live.length - 1].version });
      return live.map((entry) => entry.version);
    });
  }

  /** Sets the global (subject null) or a subject's level. */
  setCompatibility(subject: string | null, level: CompatibilityLevel): Promise<CompatibilityLevel> {
    return this.serialized(async () => {
      await this.write({ keytype: 'CONFIG', ...(subject === null ? {} : { subject }), magic: 0 }, { compatibilityLevel: level });
      return level;
    });
  }

  /** Removes the level set (the subject's, or the global one back to the default); resolves with it. */
  deleteCompatibility(subject: string | null): Promise<CompatibilityLevel> {
    return this.serialized(async () => {
      const level = this.getCompatibility(subject);
      await this.write({ keytype: 'CONFIG', ...(subject === null ? {} : { subject }), magic: 0 }, null);
      return level;
    });
  }

  setMode(subject: string | null, mode: Mode): Promise<Mode> {
    return this.serialized(async () => {
      await this.write({ keytype: 'MODE', ...(subject === null ? {} : { subject }), magic: 0 }, { mode });
      return mode;
    });
  }

  deleteMode(subject: string): Promise<Mode> {
    return this.serialized(async () => {
      const mode = this.getMode(subject);
      await this.write({ keytype: 'MODE', subject, magic: 0 }, null);
      return mode;
    });
  }

  // Internals.

  private liveVersions(subject: string, includeDeleted: boolean): SubjectVersion[] {
    const versions = this.subjects.get(subject);
    if (versions === undefined) return [];
    return [...versions.values()].filter((entry) => includeDeleted || !entry.deleted).sort((a, b) => a.version - b.version);
  }

  private effectiveCompatibility(subject: string): CompatibilityLevel {
    return this.getCompatibility(subject, true);
  }

  private checkWritable(subject: string): void {
    if (this.getMode(subject, true) === 'READONLY') throw operationNotPermitted(`Subject ${subject} is in read-only mode`);
  }

  /** Confluent refuses to delete a version another schema refers to (42206). */
  private checkNotReferenced(subject: string, versions: readonly number[]): void {
    for (const [referrer, entries] of this.subjects) {
      for (const entry of entries.values()) {
        const ref = entry.references.find((candidate) => candidate.subject === subject && versions.includes(candidate.version));
        if (ref !== undefined && !(referrer === subject && versions.includes(entry.version))) {
          throw referenceExists(`One or more references exist to the schema {subject=${subject},version=${ref.version}}: ${referrer} version ${entry.version}`);
        }
      }
    }
  }

  private sameSchema(stored: StoredSchema, schemaType: SchemaType, canonical: string, references: readonly SchemaReference[]): boolean {
    return stored.schemaType === schemaType && stored.schema === canonical && sameReferences(stored.references, references);
  }

  /** The id already given to this schema in any subject, so the same schema keeps one id. */
  private idFor(schemaType: SchemaType, canonical: string, references: readonly SchemaReference[]): number | undefined {
    return this.idsBySchema.get(schemaIdentity(schemaType, canonical, references));
  }

  /** Parses a schema with its references resolved (transitively, dependencies first). */
  parse(request: SchemaRequest): ParsedSchema {
    if (request.schema.trim() === '') throw invalidSchema('Empty schema');
    return PROVIDERS[request.schemaType].parse(request.schema, this.resolveReferences(request.references, new Set()));
  }

  /** A stored schema parsed once: an id's schema and references never change. */
  private parseStored(entry: StoredSchema): ParsedSchema {
    let parsed = this.parsedById.get(entry.id);
    if (parsed === undefined) {
      parsed = this.parse(entry);
      this.parsedById.set(entry.id, parsed);
    }
    return parsed;
  }

  private resolveReferences(references: readonly SchemaReference[], visiting: Set<string>): ResolvedReference[] {
    const resolved: ResolvedReference[] = [];
    for (const reference of references) {
      const key = `${reference.subject}\u0000${reference.version}`;
      if (visiting.has(key)) throw invalidSchema(`Invalid schema: circular reference to subject ${reference.subject} version ${reference.version}`);
      const versions = this.subjects.get(reference.subject);
      const target = reference.version === -1 ? this.liveVersions(reference.subject, false).at(-1) : versions?.get(reference.version);
      if (target === undefined) {
        throw invalidSchema(`Invalid schema: reference ${reference.name} to subject ${reference.subject} version ${reference.version} does not exist`);
      }
      visiting.add(key);
      resolved.push(...this.resolveReferences(target.references, visiting));
      visiting.delete(key);
      resolved.push({ name: reference.name, schemaType: target.schemaType, schema: target.schema });
    }
    return resolved;
  }

  private valueOf(entry: SubjectVersion): SchemaValue {
    return {
      subject: entry.subject,
      version: entry.version,
      id: entry.id,
      ...(entry.schemaType === 'AVRO' ? {} : { schemaType: entry.schemaType }),
      ...(entry.references.length === 0 ? {} : { references: entry.references }),
      schema: entry.schema,
      deleted: entry.deleted,
    };
  }

  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const result = this.writing.then(work, work);
    this.writing = result.catch(() => undefined);
    return result;
  }

  private async write(key: LogKey, value: object | null): Promise<void> {
    const record = { key: Buffer.from(JSON.stringify(key)), value: value === null ? null : Buffer.from(JSON.stringify(value)) };
    await this.log.append(record);
    this.apply(record);
  }

  /** Applies one _schemas record; records of kinds this registry does not keep (NOOP...) are passed over. */
  private apply(record: SchemaLogRecord): void {
    let key: LogKey;
    let value: unknown;
    try {
      key = JSON.parse(record.key.toString('utf8')) as LogKey;
      value = record.value === null ? null : JSON.parse(record.value.toString('utf8'));
    } catch {
      // Confluent's reader likewise skips a record it cannot deserialize rather than stop serving.
      return;
    }
    const subject = typeof key.subject === 'string' ? key.subject : GLOBAL;
    switch (key.keytype) {
      case 'SCHEMA':
        return this.applySchema(subject, key.version ?? 0, value as SchemaValue | null);
      case 'CONFIG': {
        const level = (value as { compatibilityLevel?: string } | null)?.compatibilityLevel;
        if (level !== undefined && (COMPATIBILITY_LEVELS as readonly string[]).includes(level)) this.compatibility.set(subject, level as CompatibilityLevel);
        else this.compatibility.delete(subject);
        return;
      }
      case 'MODE': {
        const mode = (value as { mode?: string } | null)?.mode;
        if (mode !== undefined && (MODES as readonly string[]).includes(mode)) this.modes.set(subject, mode as Mode);
        else this.modes.delete(subject);
        return;
      }
      case 'DELETE_SUBJECT': {
        const upTo = (value as { version?: number } | null)?.version ?? 0;
        for (const entry of this.subjects.get(subject)?.values() ?? []) if (entry.version <= upTo) entry.deleted = true;
        return;
      }
      default:
        return;
    }
  }

  private applySchema(subject: string, version: number, value: SchemaValue | null): void {
    const versions = this.subjects.get(subject) ?? new Map<number, SubjectVersion>();
    if (value === null) {
      const removed = versions.get(version);
      versions.delete(version);
      if (versions.size === 0) this.subjects.delete(subject);
      if (removed !== undefined) this.forgetIdIfUnused(removed.id);
      return;
    }
    const entry: SubjectVersion = {
      subject,
      version,
      id: value.id,
      schemaType: value.schemaType ?? 'AVRO',
      schema: value.schema,
      references: value.references ?? [],
      deleted: value.deleted === true,
    };
    versions.set(version, entry);
    this.subjects.set(subject, versions);
    if (!this.schemasById.has(entry.id)) {
      this.schemasById.set(entry.id, { id: entry.id, schemaType: entry.schemaType, schema: entry.schema, references: entry.references });
      this.idsBySchema.set(schemaIdentity(entry.schemaType, entry.schema, entry.references), entry.id);
    }
    this.maxId = Math.max(this.maxId, entry.id);
  }

  private forgetIdIfUnused(id: number): void {
    for (const versions of this.subjects.values()) {
      for (const entry of versions.values()) if (entry.id === id) return;
    }
    const stored = this.schemasById.get(id);
    if (stored !== undefined) this.idsBySchema.delete(schemaIdentity(stored.schemaType, stored.schema, stored.references));
    this.schemasById.delete(id);
    this.parsedById.delete(id);
  }
}

function schemaIdentity(schemaType: SchemaType, canonical: string, references: readonly SchemaReference[]): string {
  return JSON.stringify([schemaType, canonical, references.map((ref) => [ref.name, ref.subject, ref.version])]);
}

/** A version in a path: 1 to 2^31-1, -1 or "latest" (returned as -1). */
export function parseVersion(text: string): number {
  if (text === 'latest') return -1;
  const number = /^-?\d+$/.test(text) ? Number(text) : NaN;
  if (number === -1 || (Number.isInteger(number) && number >= 1 && number <= 2 ** 31 - 1)) return number;
  throw invalidVersion(text);
}
