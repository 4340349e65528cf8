/**
 * The broker's ACL bindings, persisted in `__sluice_meta/acls.json` and written atomically (temp
 * file, fsync, rename, fsync the directory) before a change is acknowledged, so an ACL created or
 * deleted survives a crash or restart. The file names codes by Kafka's names
 * ({"resourceType": "TOPIC", "patternType": "PREFIXED", "operation": "READ", ...}) so that it
 * reads as the ACLs it holds.
 *
 * Creation and deletion follow Kafka's StandardAuthorizer: creating a binding that exists already
 * succeeds without a duplicate; each delete filter reports the bindings it removed.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CorruptFileError, KafkaApiError } from '../../errors.js';
import { replaceFile } from '../../storage/durable-fs.js';
import {
  AclOperation,
  AclPermissionType,
  PatternType,
  ResourceType,
  codeName,
  codeOf,
  filterMatches,
  sameBinding,
  validateNewAcl,
  type AclBinding,
  type AclBindingFilter,
} from './acl.js';

export const ACLS_FILE = 'acls.json';
const FILE_VERSION = 1;

/** One creation's outcome: null, or the error that refused it. */
export type AclCreateResult = KafkaApiError | null;

export interface AclDeleteResult {
  /** The bindings this filter removed (a binding several filters match is reported by the first). */
  readonly deleted: readonly AclBinding[];
}

interface StoredAcl {
  resourceType: string;
  resourceName: string;
  patternType: string;
  principal: string;
  host: string;
  operation: string;
  permissionType: string;
}

export class AclStore {
  private readonly file: string;
  private bindings: readonly AclBinding[];

  private constructor(file: string, bindings: readonly AclBinding[]) {
    this.file = file;
    this.bindings = bindings;
  }

  /** Loads the file (none yet: no ACLs); a damaged one is a CorruptFileError naming it. */
  static open(metaDir: string): AclStore {
    const file = path.join(metaDir, ACLS_FILE);
    if (!fs.existsSync(file)) return new AclStore(file, Object.freeze([]));
    const fix = 'restore it from a backup, or delete it to drop every ACL';
    let data: { version?: unknown; acls?: unknown };
    try {
      data = JSON.parse(fs.readFileSync(file, 'utf8')) as typeof data;
    } catch (error) {
      throw new CorruptFileError(file, `it is not valid JSON (${(error as Error).message}); ${fix}`);
    }
    if (data === null || typeof data !== 'object' || data.version !== FILE_VERSION || !Array.isArray(data.acls)) {
      throw new CorruptFileError(file, `it is not a version ${FILE_VERSION} ACL file; ${fix}`);
    }
    const bindings = data.acls.map((stored: StoredAcl, index: number) => {
      try {
        const binding = fromStored(stored);
        validateNewAcl(binding);
        return Object.freeze(binding);
      } catch (error) {
        throw new CorruptFileError(file, `ACL ${index} is invalid (${(error as Error).message}); ${fix}`);
      }
    });
    return new AclStore(file, Object.freeze(bindings));
  }

  /** Every binding, in creation order; the array is replaced, never changed, by create and delete. */
  all(): readonly AclBinding[] {
    return this.bindings;
  }

  describe(filter: AclBindingFilter): AclBinding[] {
    return this.bindings.filter((binding) => filterMatches(filter, binding));
  }

  /** Adds the valid bindings (durable before it returns); one result per binding, in order. */
  create(bindings: readonly AclBinding[]): AclCreateResult[] {
    const next = [...this.bindings];
    const results = bindings.map((binding): AclCreateResult => {
      try {
        validateNewAcl(binding);
      } catch (error) {
        if (error instanceof KafkaApiError) return error;
        throw error;
      }
      if (!next.some((existing) => sameBinding(existing, binding))) next.push(Object.freeze({ ...binding }));
      return null;
    });
    if (next.length !== this.bindings.length) this.replace(next);
    return results;
  }

  /** Removes every binding each filter matches (durable before it returns); one result per filter. */
  delete(filters: readonly AclBindingFilter[]): AclDeleteResult[] {
    let remaining = this.bindings;
    const results = filters.map((filter): AclDeleteResult => {
      const deleted = remaining.filter((binding) => filterMatches(filter, binding));
      if (deleted.length > 0) remaining = remaining.filter((binding) => !deleted.includes(binding));
      return { deleted };
    });
    if (remaining.length !== this.bindings.length) this.replace(remaining);
    return results;
  }

  private replace(bindings: readonly AclBinding[]): void {
    replaceFile(this.file, JSON.stringify({ version: FILE_VERSION, acls: bindings.map(toStored) }, null, 2) + '\n');
    this.bindings = Object.freeze([...bindings]);
  }
}

function toStored(binding: AclBinding): StoredAcl {
  return {
    resourceType: codeName(ResourceType, binding.resourceType),
    resourceName: binding.resourceName,
    patternType: codeName(PatternType, binding.patternType),
    principal: binding.principal,
    host: binding.host,
    operation: codeName(AclOperation, binding.operation),
    permissionType: codeName(AclPermissionType, binding.permissionType),
  };
}

function fromStored(stored: StoredAcl): AclBinding {
  if (stored === null || typeof stored !== 'object') throw new Error('it is not an object');
  for (const key of ['resourceName', 'principal', 'host'] as const) {
    if (typeof stored[key] !== 'string') throw new Error(`"${key}" is not a string`);
  }
  return {
    resourceType: codeOf(ResourceType, stored.resourceType, 'resource type', Object.keys(ResourceType)),
    resourceName: stored.resourceName,
    patternType: codeOf(PatternType, stored.patternType, 'pattern type', Object.keys(PatternType)),
    principal: stored.principal,
    host: stored.host,
    operation: codeOf(AclOperation, stored.operation, 'operation', Object.keys(AclOperation)),
    permissionType: codeOf(AclPermissionType, stored.permissionType, 'permission type', Object.keys(AclPermissionType)),
  };
}
