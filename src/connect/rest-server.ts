/**
 * Kafka Connect's REST API on fastify: the same paths, JSON shapes, status codes and error bodies
 * ({"error_code": 404, "message": "Connector x not found"}) as Kafka's ConnectorsResource,
 * ConnectorPluginsResource and RootResource. Listens on 127.0.0.1:8083 unless told otherwise.
 */
import { createRequire } from 'node:module';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { ConnectError, ConnectRestError } from '../errors.js';
import { offsetEntries } from './connector-offsets.js';
import type { StandaloneHerder } from './herder.js';

/** What the REST API asks of a herder (standalone or distributed). */
export type Herder = Pick<
  StandaloneHerder,
  | 'workerId'
  | 'connectorNames'
  | 'connectorInfo'
  | 'connectorConfig'
  | 'connectorStatus'
  | 'taskStatus'
  | 'taskConfigs'
  | 'connectorOffsets'
  | 'connectorActiveTopics'
  | 'resetConnectorActiveTopics'
  | 'modifyConnectorOffsets'
  | 'plugins'
  | 'pluginConfig'
  | 'validate'
  | 'putConnectorConfig'
  | 'patchConnectorConfig'
  | 'deleteConnector'
  | 'restartConnector'
  | 'restartTask'
  | 'pauseConnector'
  | 'resumeConnector'
  | 'stopConnector'
>;

type Req = FastifyRequest<{ Params: { name?: string; task?: string; plugin?: string }; Querystring: Record<string, string | string[] | undefined>; Body: unknown }>;

/** A JSON object of settings; nulls are kept where `keepNulls` (a PATCH removes those), dropped otherwise. */
function configMap(body: unknown, what: string): Record<string, string>;
function configMap(body: unknown, what: string, keepNulls: true): Record<string, string | null>;
function configMap(body: unknown, what: string, keepNulls = false): Record<string, string | null> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new ConnectRestError(400, `${what} must be a JSON object of string settings`);
  const out: Record<string, string | null> = {};
  for (const [name, value] of Object.entries(body as Record<string, unknown>)) {
    if (value === null) {
      if (keepNulls) out[name] = null;
      continue;
    }
    if (typeof value === 'object') throw new ConnectRestError(400, `${what}: setting ${name} must be a string, got ${JSON.stringify(value)}`);
    out[name] = String(value);
  }
  return out;
}

function booleanQuery(request: Req, name: string, defaultValue: boolean): boolean {
  const value = request.query[name];
  if (value === undefined) return defaultValue;
  const text = Array.isArray(value) ? value[value.length - 1] : value;
  if (text !== 'true' && text !== 'false') throw new ConnectRestError(400, `query parameter ${name} must be true or false, got ${text}`);
  return text === 'true';
}

function taskNumber(request: Req): number {
  const task = Number(request.params.task);
  if (!Number.isInteger(task) || task < 0) throw new ConnectRestError(404, `Task ${request.params.name}-${request.params.task} not found`);
  return task;
}

/** Sluice's version, from the package.json above this module (src/ when run from source, dist/src/ when built). */
function packageVersion(): string {
  const require = createRequire(import.meta.url);
  for (const candidate of ['../../package.json', '../../../package.json']) {
    try {
      const found = require(candidate) as { name?: string; version?: string };
      if (found.name === 'sluice' && typeof found.version === 'string') return found.version;
    } catch {
      // Not at this depth: try the next.
    }
  }
  return 'unknown';
}

const VERSION = packageVersion();

export function buildConnectApp(herder: Herder, kafkaClusterId: string | null): FastifyInstance {
  const app = Fastify({ logger: false });
  // Kafka Connect's resources consume JSON only: any other body (text/plain included, which
  // fastify would otherwise take as a string) is 415. Clients send a content type on bodiless
  // requests too (curl -X PUT -H 'Content-Type: application/json'): an empty body is no body.
  const jsonParser = app.getDefaultJsonParser('error', 'error');
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    if (body === '') return done(null, undefined);
    jsonParser(request, body as string, done);
  });

  app.setErrorHandler((error: Error & { statusCode?: number }, _request, reply: FastifyReply) => {
    if (error instanceof ConnectRestError) return reply.status(error.status).send({ error_code: error.status, message: error.message });
    if (error instanceof ConnectError) return reply.status(500).send({ error_code: 500, message: error.message });
    const status = error.statusCode ?? 500;
    return reply.status(status).send({ error_code: status, message: status === 415 ? 'HTTP 415 Unsupported Media Type' : error.message });
  });
  app.setNotFoundHandler((_request, reply) => reply.status(404).send({ error_code: 404, message: 'HTTP 404 Not Found' }));

  app.get('/', async () => ({ version: VERSION, commit: 'sluice', kafka_cluster_id: kafkaClusterId }));

  app.get('/connectors', async (request: Req) => {
    const expand = ([] as string[]).concat(request.query.expand ?? []);
    const names = herder.connectorNames();
    if (expand.length === 0) return names;
    return Object.fromEntries(
      names.map((name) => {
        const entry: Record<string, unknown> = {};
        if (expand.includes('status')) entry.status = herder.connectorStatus(name);
        if (expand.includes('info')) entry.info = herder.connectorInfo(name);
        return [name, entry];
      }),
    );
  });

  app.post('/connectors', async (request: Req, reply) => {
    const body = request.body as { name?: unknown; config?: unknown } | undefined;
    if (body === undefined || body === null || typeof body !== 'object') throw new ConnectRestError(400, 'Request body must be a JSON object {"name": ..., "config": {...}}');
    const config = configMap(body.config ?? {}, 'config');
    const name = typeof body.name === 'string' ? body.name.trim() : (config.name ?? '').trim();
    if (name === '') throw new ConnectRestError(400, 'Connector name is null or empty');
    const { info } = await herder.putConnectorConfig(name, config, false);
    return reply.status(201).header('location', `/connectors/${encodeURIComponent(name)}`).send(info);
  });

  const name = (request: Req): string => request.params.name ?? '';

  app.get('/connectors/:name', async (request: Req) => herder.connectorInfo(name(request)));
  app.get('/connectors/:name/config', async (request: Req) => herder.connectorConfig(name(request)));
  app.put('/connectors/:name/config', async (request: Req, reply) => {
    const { created, info } = await herder.putConnectorConfig(name(request), configMap(request.body, 'Connector configuration'), true);
    if (created) reply.header('location', `/connectors/${encodeURIComponent(name(request))}`);
    return reply.status(created ? 201 : 200).send(info);
  });
  app.patch('/connectors/:name/config', async (request: Req) => herder.patchConnectorConfig(name(request), configMap(request.body, 'Connector configuration patch', true)));
  app.get('/connectors/:name/status', async (request: Req) => herder.connectorStatus(name(request)));
  app.get('/connectors/:name/tasks', async (request: Req) => herder.taskConfigs(name(request)));
  app.get('/connectors/:name/tasks/:task/status', async (request: Req) => herder.taskStatus(name(request), taskNumber(request)));
  app.post('/connectors/:name/tasks/:task/restart', async (request: Req, reply) => {
    await herder.restartTask(name(request), taskNumber(request));
    return reply.status(204).send();
  });
  app.post('/connectors/:name/restart', async (request: Req, reply) => {
    const plan = await herder.restartConnector(name(request), booleanQuery(request, 'includeTasks', false), booleanQuery(request, 'onlyFailed', false));
    return plan === null ? reply.status(204).send() : reply.status(202).send(plan);
  });
  app.put('/connectors/:name/pause', async (request: Req, reply) => {
    await herder.pauseConnector(name(request));
    return reply.status(202).send();
  });
  app.put('/connectors/:name/resume', async (request: Req, reply) => {
    await herder.resumeConnector(name(request));
    return reply.status(202).send();
  });
  app.put('/connectors/:name/stop', async (request: Req, reply) => {
    await herder.stopConnector(name(request));
    return reply.status(204).send();
  });
  app.get('/connectors/:name/topics', async (request: Req) => herder.connectorActiveTopics(name(request)));
  app.put('/connectors/:name/topics/reset', async (request: Req, reply) => {
    await herder.resetConnectorActiveTopics(name(request));
    return reply.status(202).send();
  });
  app.get('/connectors/:name/offsets', async (request: Req) => herder.connectorOffsets(name(request)));
  app.patch('/connectors/:name/offsets', async (request: Req) => herder.modifyConnectorOffsets(name(request), offsetEntries(request.body)));
  app.delete('/connectors/:name/offsets', async (request: Req) => herder.modifyConnectorOffsets(name(request), null));
  app.delete('/connectors/:name', async (request: Req, reply) => {
    await herder.deleteConnector(name(request));
    return reply.status(204).send();
  });

  app.get('/connector-plugins', async (request: Req) => herder.plugins(booleanQuery(request, 'connectorsOnly', true)));
  app.get('/connector-plugins/:plugin/config', async (request: Req) => herder.pluginConfig(request.params.plugin ?? ''));
  app.put('/connector-plugins/:plugin/config/validate', async (request: Req) => herder.validate(configMap(request.body, 'Connector configuration'), request.params.plugin));
  return app;
}

export interface RunningRestServer {
  readonly host: string;
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

export async function startRestServer(herder: Herder, listen: { host: string; port: number }, kafkaClusterId: string | null): Promise<RunningRestServer> {
  const app = buildConnectApp(herder, kafkaClusterId);
  await app.listen({ host: listen.host, port: listen.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : listen.port;
  const urlHost = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
  return { host: listen.host, port, url: `http://${urlHost}:${port}`, close: () => app.close() };
}
