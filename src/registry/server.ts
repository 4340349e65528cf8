/**
 * The Schema Registry's REST API on fastify, as Confluent documents it: the same paths, JSON
 * shapes, error bodies (`{"error_code": 40401, "message": "..."}`) and content types
 * (application/vnd.schemaregistry.v1+json, application/vnd.schemaregistry+json,
 * application/json and application/octet-stream are read; answers are
 * application/vnd.schemaregistry.v1+json). A request body over `bodyLimitBytes` gets 413, a
 * content type outside those 415, a body that is not JSON 400: never a crash.
 */
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { SchemaRegistryError } from '../errors.js';
import { isCompatibilityLevel } from './compatibility.js';
import { MODES, type Mode, parseVersion, type SchemaRegistry, type SchemaRequest, type StoredSchema, type SubjectVersion } from './registry.js';
import {
  invalidCompatibilityLevel,
  invalidMode,
  invalidSchema,
  invalidSubject,
  isSchemaType,
  SCHEMA_TYPES,
  schemaNotFound,
  type SchemaReference,
} from './schema.js';

export const SCHEMA_REGISTRY_CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';
const ACCEPTED_CONTENT_TYPES = [SCHEMA_REGISTRY_CONTENT_TYPE, 'application/vnd.schemaregistry+json', 'application/json', 'application/octet-stream'];
/** Confluent's default: Jetty refuses larger requests; schemas are small. */
export const DEFAULT_BODY_LIMIT_BYTES = 10 * 1024 * 1024;

export interface RegistryServerOptions {
  /** Default 127.0.0.1: reachable from this machine only unless asked. */
  host?: string;
  /** Default 8081, Confluent's port; 0 picks a free one. */
  port?: number;
  bodyLimitBytes?: number;
}

type Params = { subject?: string; version?: string; id?: string };
type Query = Record<string, string | undefined>;
type Req = FastifyRequest<{ Params: Params; Querystring: Query; Body: unknown }>;

function flag(query: Query, name: string): boolean {
  return query[name] === 'true';
}

function subjectOf(request: Req): string {
  const subject = request.params.subject ?? '';
  if (subject.trim() === '') throw invalidSubject(subject);
  return subject;
}

function idOf(request: Req): number {
  const id = Number(request.params.id);
  if (!Number.isInteger(id) || id < 0 || id > 2 ** 31 - 1) throw schemaNotFound();
  return id;
}

function parseReferences(value: unknown): SchemaReference[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalidSchema('Invalid schema: references must be a list of {name, subject, version}');
  return value.map((reference: unknown) => {
    const { name, subject, version } = (reference ?? {}) as Record<string, unknown>;
    if (typeof name !== 'string' || typeof subject !== 'string' || !Number.isInteger(version)) {
      throw invalidSchema(`Invalid schema: reference ${JSON.stringify(reference)} needs a string name, a string subject and an integer version`);
    }
    return { name, subject, version: version as number };
  });
}

/** The body of register, lookup and compatibility requests. */
function schemaRequestOf(body: unknown): SchemaRequest & { id?: number; version?: number } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalidSchema('Empty schema');
  const fields = body as Record<string, unknown>;
  if (typeof fields.schema !== 'string' || fields.schema === '') throw invalidSchema('Empty schema');
  const schemaType = fields.schemaType ?? 'AVRO';
  if (!isSchemaType(schemaType)) throw invalidSchema(`Invalid schema type ${String(schemaType)}`);
  const request: SchemaRequest & { id?: number; version?: number } = { schema: fields.schema, schemaType, references: parseReferences(fields.references) };
  if (fields.id !== undefined && fields.id !== null && fields.id !== -1) {
    if (!Number.isInteger(fields.id) || (fields.id as number) < 1) throw invalidSchema(`Invalid schema: id ${String(fields.id)} is not a positive integer`);
    request.id = fields.id as number;
  }
  if (fields.version !== undefined && fields.version !== null && fields.version !== -1) {
    if (!Number.isInteger(fields.version) || (fields.version as number) < 1) throw invalidSchema(`Invalid schema: version ${String(fields.version)} is not a positive integer`);
    request.version = fields.version as number;
  }
  return request;
}

/** A schema as Confluent answers it: schemaType only when not AVRO, references only when some. */
function schemaFields(schema: StoredSchema, text: string): Record<string, unknown> {
  return {
    ...(schema.schemaType === 'AVRO' ? {} : { schemaType: schema.schemaType }),
    ...(schema.references.length === 0 ? {} : { references: schema.references }),
    schema: text,
  };
}

function versionBody(entry: SubjectVersion, text: string): Record<string, unknown> {
  return { subject: entry.subject, version: entry.version, id: entry.id, ...schemaFields(entry, text) };
}

function compatibilityBody(problems: string[], verbose: boolean): Record<string, unknown> {
  return verbose ? { is_compatible: problems.length === 0, messages: problems } : { is_compatible: problems.length === 0 };
}

function levelOf(body: unknown): ReturnType<SchemaRegistry['getCompatibility']> {
  const level = (body as { compatibility?: unknown } | null)?.compatibility;
  const upper = typeof level === 'string' ? level.toUpperCase() : level;
  if (!isCompatibilityLevel(upper)) throw invalidCompatibilityLevel();
  return upper;
}

function modeOf(body: unknown): Mode {
  const mode = (body as { mode?: unknown } | null)?.mode;
  const upper = typeof mode === 'string' ? mode.toUpperCase() : mode;
  if (!(MODES as readonly unknown[]).includes(upper)) throw invalidMode();
  return upper as Mode;
}

/** Builds the fastify app serving `registry` (not listening yet: see startRegistryServer). */
export function buildRegistryApp(registry: SchemaRegistry, options: RegistryServerOptions = {}): FastifyInstance {
  const app = Fastify({ bodyLimit: options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES, logger: false });

  // Clients send a content type on bodiless requests (DELETE) too: an empty body is no body.
  const jsonParser = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser(ACCEPTED_CONTENT_TYPES, { parseAs: 'string' }, (request, body, done) => {
    if (body === '') return done(null, undefined);
    jsonParser(request, body as string, done);
  });
  app.removeContentTypeParser('text/plain');

  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('content-type', SCHEMA_REGISTRY_CONTENT_TYPE);
    return payload;
  });

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, _request: FastifyRequest, reply: FastifyReply) => {
    if (error instanceof SchemaRegistryError) {
      return reply.status(error.status).send({ error_code: error.errorCode, message: error.message });
    }
    const status = error.statusCode ?? 500;
    if (status >= 500) {
      // A failure to read or write _schemas: Confluent's store error.
      return reply.status(500).send({ error_code: 50001, message: `Error in the backend data store: ${error.message}` });
    }
    return reply.status(status).send({ error_code: status, message: status === 415 ? 'HTTP 415 Unsupported Media Type' : error.message });
  });
  app.setNotFoundHandler((_request, reply) => reply.status(404).send({ error_code: 404, message: 'HTTP 404 Not Found' }));

  const json = (reply: FastifyReply, body: unknown) => reply.send(JSON.stringify(body));

  app.get('/', (_request, reply) => json(reply, {}));
  app.get('/schemas/types', (_request, reply) => json(reply, [...SCHEMA_TYPES]));

  app.get('/schemas', (request: Req, reply) => {
    const { query } = request;
    const entries = registry.listSchemas(query.subjectPrefix ?? '', flag(query, 'deleted'), flag(query, 'latestOnly'));
    json(reply, entries.map((entry) => versionBody(entry, entry.schema)));
  });
  app.get('/schemas/ids/:id', (request: Req, reply) => {
    const schema = registry.getSchemaById(idOf(request));
    json(reply, schemaFields(schema, registry.formatted(schema, request.query.format)));
  });
  app.get('/schemas/ids/:id/schema', (request: Req, reply) => reply.send(registry.getSchemaById(idOf(request)).schema));
  app.get('/schemas/ids/:id/subjects', (request: Req, reply) =>
    json(reply, [...new Set(registry.versionsOfId(idOf(request), flag(request.query, 'deleted')).map((pair) => pair.subject))]),
  );
  app.get('/schemas/ids/:id/versions', (request: Req, reply) => json(reply, registry.versionsOfId(idOf(request), flag(request.query, 'deleted'))));

  app.get('/subjects', (request: Req, reply) => {
    const prefix = request.query.subjectPrefix ?? '';
    json(reply, registry.listSubjects(flag(request.query, 'deleted')).filter((subject) => subject.startsWith(prefix)));
  });
  app.get('/subjects/:subject/versions', (request: Req, reply) => json(reply, registry.listVersions(subjectOf(request), flag(request.query, 'deleted'))));
  app.post('/subjects/:subject/versions', async (request: Req, reply) => {
    const entry = await registry.register(subjectOf(request), schemaRequestOf(request.body));
    return json(reply, { id: entry.id });
  });
  app.get('/subjects/:subject/versions/:version', (request: Req, reply) => {
    const entry = registry.getVersion(subjectOf(request), request.params.version ?? '', flag(request.query, 'deleted'));
    json(reply, versionBody(entry, registry.formatted(entry, request.query.format)));
  });
  app.get('/subjects/:subject/versions/:version/schema', (request: Req, reply) =>
    reply.send(registry.getVersion(subjectOf(request), request.params.version ?? '', flag(request.query, 'deleted')).schema),
  );
  app.get('/subjects/:subject/versions/:version/referencedby', (request: Req, reply) =>
    json(reply, registry.referencedBy(subjectOf(request), request.params.version ?? '')),
  );
  app.delete('/subjects/:subject/versions/:version', async (request: Req, reply) =>
    json(reply, await registry.deleteVersion(subjectOf(request), request.params.version ?? '', flag(request.query, 'permanent'))),
  );
  app.post('/subjects/:subject', (request: Req, reply) => {
    const entry = registry.lookup(subjectOf(request), schemaRequestOf(request.body), flag(request.query, 'deleted'));
    json(reply, versionBody(entry, entry.schema));
  });
  app.delete('/subjects/:subject', async (request: Req, reply) =>
    json(reply, await registry.deleteSubject(subjectOf(request), flag(request.query, 'permanent'))),
  );

  app.post('/compatibility/subjects/:subject/versions/:version', (request: Req, reply) => {
    const version = request.params.version ?? '';
    parseVersion(version);
    const problems = registry.testCompatibility(subjectOf(request), schemaRequestOf(request.body), version);
    json(reply, compatibilityBody(problems, flag(request.query, 'verbose')));
  });
  app.post('/compatibility/subjects/:subject/versions', (request: Req, reply) => {
    const problems = registry.testCompatibility(subjectOf(request), schemaRequestOf(request.body), null);
    json(reply, compatibilityBody(problems, flag(request.query, 'verbose')));
  });

  app.get('/config', (_request, reply) => json(reply, { compatibilityLevel: registry.getCompatibility(null) }));
  app.put('/config', async (request: Req, reply) => json(reply, { compatibility: await registry.setCompatibility(null, levelOf(request.body)) }));
  app.delete('/config', async (_request, reply) => json(reply, { compatibilityLevel: await registry.deleteCompatibility(null) }));
  app.get('/config/:subject', (request: Req, reply) =>
    json(reply, { compatibilityLevel: registry.getCompatibility(subjectOf(request), flag(request.query, 'defaultToGlobal')) }),
  );
  app.put('/config/:subject', async (request: Req, reply) =>
    json(reply, { compatibility: await registry.setCompatibility(subjectOf(request), levelOf(request.body)) }),
  );
  app.delete('/config/:subject', async (request: Req, reply) =>
    json(reply, { compatibilityLevel: await registry.deleteCompatibility(subjectOf(request)) }),
  );

  app.get('/mode', (_request, reply) => json(reply, { mode: registry.getMode(null) }));
  app.put('/mode', async (request: Req, reply) => json(reply, { mode: await registry.setMode(null, modeOf(request.body)) }));
  app.get('/mode/:subject', (request: Req, reply) => json(reply, { mode: registry.getMode(subjectOf(request), flag(request.query, 'defaultToGlobal')) }));
  app.put('/mode/:subject', async (request: Req, reply) => json(reply, { mode: await registry.setMode(subjectOf(request), modeOf(request.body)) }));
  app.delete('/mode/:subject', async (request: Req, reply) => json(reply, { mode: await registry.deleteMode(subjectOf(request)) }));

  return app;
}

export interface RunningRegistryServer {
  readonly app: FastifyInstance;
  /** The address it listens on, with the port it got (for port 0). */
  readonly host: string;
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

/** Serves `registry` over HTTP; closing stops the server (the registry stays open). */
export async function startRegistryServer(registry: SchemaRegistry, options: RegistryServerOptions = {}): Promise<RunningRegistryServer> {
  const app = buildRegistryApp(registry, options);
  const host = options.host ?? '127.0.0.1';
  await app.listen({ host, port: options.port ?? 8081 });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : (options.port ?? 8081);
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return { app, host, port, url: `http://${urlHost}:${port}`, close: () => app.close() };
}
