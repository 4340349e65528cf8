/**
 * A small client of a Confluent-compatible Schema Registry (Sluice's own, or Confluent's), for the
 * registry-backed serializers: register a schema under a subject, read a subject's versions,
 * fetch a schema by id. Schemas by id are cached (an id's schema never changes). Error bodies
 * (`{"error_code": 40401, ...}`) become SchemaRegistryError with the same codes.
 */
import { InvalidConfigError, SchemaRegistryError, SluiceError } from '../errors.js';

export type RegistrySchemaType = 'AVRO' | 'JSON' | 'PROTOBUF';

/** A schema's reference to another registered one: the name it uses, and the subject version. */
export interface RegistryReference {
  name: string;
  subject: string;
  version: number;
}

export interface RegistrySchema {
  schemaType: RegistrySchemaType;
  schema: string;
  references?: RegistryReference[];
}

export interface RegistrySubjectVersion extends RegistrySchema {
  subject: string;
  version: number;
  id: number;
}

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

export class SchemaRegistryClient {
  readonly url: string;
  private readonly byId = new Map<number, Promise<RegistrySchema>>();

  /** `url`: the registry's base URL, such as http://127.0.0.1:8081. */
  constructor(url: string) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new InvalidConfigError(`schema registry url "${url}" is not a URL; pass one such as http://127.0.0.1:8081`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new InvalidConfigError(`schema registry url "${url}" must be http:// or https://`);
    }
    this.url = url.replace(/\/+$/, '');
  }

  /** Registers `schema` under `subject` (the registry checks compatibility); resolves with its id. */
  async register(subject: string, schema: RegistrySchema): Promise<number> {
    const { id } = (await this.request('POST', `/subjects/${encodeURIComponent(subject)}/versions`, schema)) as { id: number };
    this.byId.set(id, Promise.resolve(schema));
    return id;
  }

  /** The subjects with live versions. */
  async subjects(): Promise<string[]> {
    return (await this.request('GET', '/subjects')) as string[];
  }

  /**
   * Whether `schema` could be registered under `subject`: against `version`, or (undefined)
   * against what the subject's compatibility level compares with. Resolves with the problems
   * found, empty when compatible.
   */
  async incompatibilities(subject: string, schema: RegistrySchema, version?: number | 'latest'): Promise<string[]> {
    const path = `/compatibility/subjects/${encodeURIComponent(subject)}/versions${version === undefined ? '' : `/${version}`}?verbose=true`;
    const answer = (await this.request('POST', path, schema)) as { is_compatible: boolean; messages?: string[] };
    return answer.is_compatible ? [] : (answer.messages ?? ['incompatible']);
  }

  /** The subject's version numbers, oldest first. */
  async versions(subject: string): Promise<number[]> {
    return (await this.request('GET', `/subjects/${encodeURIComponent(subject)}/versions`)) as number[];
  }

  /** A version of the subject: a number or "latest". */
  async version(subject: string, version: number | 'latest' = 'latest'): Promise<RegistrySubjectVersion> {
    const answer = (await this.request('GET', `/subjects/${encodeURIComponent(subject)}/versions/${version}`)) as Partial<RegistrySubjectVersion>;
    return { ...answer, schemaType: answer.schemaType ?? 'AVRO' } as RegistrySubjectVersion;
  }

  /** The schema with global id `id`. */
  schemaById(id: number): Promise<RegistrySchema> {
    let cached = this.byId.get(id);
    if (cached === undefined) {
      cached = this.request('GET', `/schemas/ids/${id}`).then((answer) => {
        const schema = answer as Partial<RegistrySchema>;
        return { ...schema, schemaType: schema.schemaType ?? 'AVRO' } as RegistrySchema;
      });
      // A failed fetch is not remembered: the next call asks again.
      cached.catch(() => this.byId.delete(id));
      this.byId.set(id, cached);
    }
    return cached;
  }

  private async request(method: string, path: string, body?: unknown): Promise<unknown> {
    let response: Response;
    try {
      response = await fetch(`${this.url}${path}`, {
        method,
        headers: { accept: CONTENT_TYPE, ...(body === undefined ? {} : { 'content-type': CONTENT_TYPE }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      const cause = (error as Error & { cause?: Error }).cause?.message ?? (error as Error).message;
      throw new SluiceError('SCHEMA_REGISTRY_UNREACHABLE', `cannot reach the schema registry at ${this.url} (${cause}); is it running there?`, true);
    }
    const text = await response.text();
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
    if (!response.ok) {
      const error = json as { error_code?: number; message?: string } | undefined;
      throw new SchemaRegistryError(response.status, error?.error_code ?? response.status, `schema registry ${method} ${path}: ${error?.message ?? text}`);
    }
    return json;
  }
}
