/**
 * Kafka Connect's REST API driven with curl over 127.0.0.1, as its users drive it: every endpoint,
 * its JSON shape, status code and content type, and the error bodies ({"error_code", "message"})
 * for unknown connectors, conflicts, invalid configs and bodies of the wrong media type.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStandalone, type StandaloneWorker } from '../../src/connect/index.js';
import { eventually } from '../support/eventually.js';
import { makeTempDir, removeTempDir } from '../support/temp-dir.js';
import { fileLines, stringConverterProps, writeInput } from './helpers.js';

const execFileAsync = promisify(execFile);

let dir: string;
let worker: StandaloneWorker;
let input: string;

interface Answer {
  status: number;
  body: unknown;
  contentType: string;
  location: string;
}

/**
 * One request through the real curl binary, as the users of Kafka Connect drive it: `-d` sends
 * the body with the content type given (application/json unless told); curl's `-w` appends the
 * status, content type and location after a marker line, so the body is read as curl received it.
 */
async function call(method: string, path: string, body?: unknown, options: { rawBody?: string; contentType?: string; baseUrl?: string } = {}): Promise<Answer> {
  const args = ['--silent', '--show-error', '--max-time', '30', '-X', method, '-w', '\n%{http_code}\n%{content_type}\n%header{location}'];
  const payload = options.rawBody ?? (body === undefined ? undefined : JSON.stringify(body));
  if (payload !== undefined) args.push('-H', `Content-Type: ${options.contentType ?? 'application/json'}`, '--data-binary', payload);
  args.push(`${options.baseUrl ?? worker.rest.url}${path}`);
  const { stdout } = await execFileAsync('curl', args, { encoding: 'utf8' });
  const lines = stdout.split('\n');
  const [location, contentType, code] = [lines.pop()!, lines.pop()!, lines.pop()!];
  const text = lines.join('\n');
  return { status: Number(code), body: text === '' ? null : JSON.parse(text), contentType, location };
}

const status = async (name: string): Promise<{ connector: { state: string; worker_id: string; trace?: string }; tasks: { id: number; state: string; trace?: string }[] }> =>
  (await call('GET', `/connectors/${name}/status`)).body as never;

beforeAll(async () => {
  dir = makeTempDir('connect-rest');
  input = join(dir, 'in.txt');
  writeInput(input, 100);
  worker = await startStandalone({ workerProps: stringConverterProps(dir), log: { info: () => {}, error: () => {} } });
});

afterAll(async () => {
  await worker?.close();
  removeTempDir(dir);
});

describe('the Connect REST API', () => {
  it('answers the root and lists the connector plugins', async () => {
    const root = await call('GET', '/');
    expect(root.status).toBe(200);
    expect(root.body).toMatchObject({ version: expect.any(String), commit: expect.any(String) });
    const plugins = await call('GET', '/connector-plugins');
    expect(plugins.body).toEqual(
      expect.arrayContaining([
        { class: 'org.apache.kafka.connect.file.FileStreamSourceConnector', type: 'source', version: '1.0.0' },
        { class: 'org.apache.kafka.connect.file.FileStreamSinkConnector', type: 'sink', version: '1.0.0' },
      ]),
    );
    expect((plugins.body as { type: string }[]).every((plugin) => plugin.type === 'source' || plugin.type === 'sink')).toBe(true);
    const all = await call('GET', '/connector-plugins?connectorsOnly=false');
    expect(all.body).toEqual(
      expect.arrayContaining([
        { class: 'org.apache.kafka.connect.json.JsonConverter', type: 'converter', version: 'undefined' },
        { class: 'org.apache.kafka.connect.transforms.RegexRouter', type: 'transformation', version: 'undefined' },
        { class: 'org.apache.kafka.connect.transforms.predicates.TopicNameMatches', type: 'predicate', version: 'undefined' },
      ]),
    );
    const config = await call('GET', '/connector-plugins/FileStreamSource/config');
    expect((config.body as { name: string }[]).map((entry) => entry.name)).toEqual(['file', 'topic', 'batch.size']);
  });

  it('validates a config in the ConfigInfos shape, naming each problem', async () => {
    const answer = await call('PUT', '/connector-plugins/FileStreamSourceConnector/config/validate', { 'connector.class': 'FileStreamSource', name: 'v', 'batch.size': 'lots', 'tasks.max': '0' });
    expect(answer.status).toBe(200);
    const infos = answer.body as { name: string; error_count: number; groups: string[]; configs: { definition: { name: string }; value: { name: string; errors: string[] } }[] };
    expect(infos.name).toBe('org.apache.kafka.connect.file.FileStreamSourceConnector');
    expect(infos.error_count).toBe(3);
    expect(infos.groups).toContain('Common');
    const errors = Object.fromEntries(infos.configs.map((config) => [config.value.name, config.value.errors]));
    expect(errors.topic).toEqual(['Missing required configuration "topic" which has no default value.']);
    expect(errors['batch.size']).toEqual(['Invalid value lots for configuration batch.size: Not a number of type INT']);
    expect(errors['tasks.max']).toEqual(['Invalid value 0 for configuration tasks.max: Value must be at least 1']);

    const sink = await call('PUT', '/connector-plugins/FileStreamSink/config/validate', { 'connector.class': 'FileStreamSink', name: 's' });
    expect((sink.body as typeof infos).configs.find((config) => config.value.name === 'topics')!.value.errors).toEqual(['Must configure one of topics or topics.regex']);

    // KIP-585: predicates and each transform's implicit predicate/negate settings are validated too.
    const predicated = await call('PUT', '/connector-plugins/FileStreamSink/config/validate', {
      'connector.class': 'FileStreamSink',
      name: 's',
      topics: 't',
      transforms: 'r',
      'transforms.r.type': 'RegexRouter',
      'transforms.r.regex': 'a',
      'transforms.r.replacement': 'b',
      'transforms.r.predicate': 'missing',
      predicates: 'p',
      'predicates.p.type': 'TopicNameMatches',
    });
    const predicatedErrors = Object.fromEntries((predicated.body as typeof infos).configs.map((config) => [config.value.name, config.value.errors]));
    expect((predicated.body as typeof infos).error_count).toBe(2);
    expect(predicatedErrors['transforms.r.predicate']).toEqual(['Invalid value missing for configuration transforms.r.predicate: the predicate is not listed in predicates']);
    expect(predicatedErrors['predicates.p.pattern']).toEqual(['Missing required configuration "pattern" which has no default value.']);
    expect(predicatedErrors['transforms.r.negate']).toEqual([]);

    const mismatch = await call('PUT', '/connector-plugins/FileStreamSink/config/validate', { 'connector.class': 'FileStreamSource', name: 's' });
    expect(mismatch).toMatchObject({ status: 400, body: { error_code: 400, message: 'Included connector type FileStreamSource does not match request type FileStreamSink' } });
  });

  it('refuses bad configs with 400 and Kafka Connect messages', async () => {
    const invalid = await call('POST', '/connectors', { name: 'bad', config: { 'connector.class': 'FileStreamSource', file: input } });
    expect(invalid.status).toBe(400);
    expect(invalid.body).toEqual({
      error_code: 400,
      message:
        'Connector configuration is invalid and contains the following 1 error(s):\nMissing required configuration "topic" which has no default value.\n' +
        'You can also find the above list of errors at the endpoint `/connector-plugins/{connectorType}/config/validate`',
    });
    const noClass = await call('POST', '/connectors', { name: 'bad', config: { topic: 't' } });
    expect(noClass).toMatchObject({ status: 400, body: { error_code: 400, message: expect.stringContaining('contains no connector type') } });
    const unknownClass = await call('POST', '/connectors', { name: 'bad', config: { 'connector.class': 'com.example.Nope' } });
    expect(unknownClass).toMatchObject({ status: 400, body: { message: expect.stringContaining('Failed to find any class that implements Connector and which name matches com.example.Nope') } });
    const wrongName = await call('PUT', '/connectors/one/config', { name: 'two', 'connector.class': 'FileStreamSink', topics: 't' });
    expect(wrongName).toMatchObject({ status: 400, body: { message: "Connector name configuration (two) doesn't match connector name in the URL (one)" } });
    const malformed = await call('POST', '/connectors', undefined, { rawBody: '{"name": ' });
    expect(malformed).toMatchObject({ status: 400, body: { error_code: 400 } });
    expect(await call('GET', '/nothing/here')).toMatchObject({ status: 404, body: { error_code: 404, message: 'HTTP 404 Not Found' } });
    expect((await call('GET', '/connectors')).body).toEqual([]);
  });

  it('answers every endpoint of an unknown connector with 404 and its error body, and only takes JSON', async () => {
    const endpoints: [string, string, unknown?][] = [
      ['GET', '/connectors/ghost'],
      ['GET', '/connectors/ghost/config'],
      ['PATCH', '/connectors/ghost/config', { 'batch.size': '1' }],
      ['GET', '/connectors/ghost/status'],
      ['GET', '/connectors/ghost/tasks'],
      ['GET', '/connectors/ghost/tasks/0/status'],
      ['POST', '/connectors/ghost/tasks/0/restart'],
      ['POST', '/connectors/ghost/restart'],
      ['PUT', '/connectors/ghost/pause'],
      ['PUT', '/connectors/ghost/resume'],
      ['PUT', '/connectors/ghost/stop'],
      ['GET', '/connectors/ghost/offsets'],
      ['PATCH', '/connectors/ghost/offsets', { offsets: [{ partition: { filename: 'f' }, offset: null }] }],
      ['DELETE', '/connectors/ghost/offsets'],
      ['DELETE', '/connectors/ghost'],
    ];
    for (const [method, path, body] of endpoints) {
      const answer = await call(method, path, body);
      expect({ method, path, ...answer }).toEqual({ method, path, status: 404, body: { error_code: 404, message: 'Connector ghost not found' }, contentType: 'application/json; charset=utf-8', location: '' });
    }
    // curl -d without -H sends application/x-www-form-urlencoded; Kafka Connect consumes JSON only.
    for (const contentType of ['application/x-www-form-urlencoded', 'text/plain']) {
      const answer = await call('POST', '/connectors', { name: 'form', config: { 'connector.class': 'FileStreamSink', topics: 't' } }, { contentType });
      expect(answer).toMatchObject({ status: 415, body: { error_code: 415, message: 'HTTP 415 Unsupported Media Type' } });
    }
    expect((await call('GET', '/connectors')).body).toEqual([]);
  });

  it('creates, reads, reconfigures, pauses, resumes, stops, restarts and deletes connectors', async () => {
    const output = join(dir, 'out.txt');
    const created = await call('POST', '/connectors', { name: 'src', config: { 'connector.class': 'FileStreamSource', file: input, topic: 'rest-lines', 'tasks.max': '1' } });
    expect(created.status).toBe(201);
    expect(created.location).toBe('/connectors/src');
    expect(created.body).toEqual({
      name: 'src',
      config: { 'connector.class': 'FileStreamSource', file: input, topic: 'rest-lines', 'tasks.max': '1', name: 'src' },
      tasks: [{ connector: 'src', task: 0 }],
      type: 'source',
    });
    expect(await call('POST', '/connectors', { name: 'src', config: { 'connector.class': 'FileStreamSource', file: input, topic: 'x' } })).toMatchObject({
      status: 409,
      body: { error_code: 409, message: 'Connector src already exists' },
    });
    const sinkCreated = await call('PUT', '/connectors/sink/config', { 'connector.class': 'FileStreamSink', file: output, topics: 'rest-lines', 'tasks.max': '2' });
    expect(sinkCreated.status).toBe(201);
    await eventually(() => fileLines(output).length === 100, { what: '100 lines through the REST-made connectors' });

    expect((await call('GET', '/connectors')).body).toEqual(['sink', 'src']);
    const expanded = (await call('GET', '/connectors?expand=status&expand=info')).body as Record<string, { status: { type: string }; info: { name: string } }>;
    expect(expanded.src!.status.type).toBe('source');
    expect(expanded.sink!.info.name).toBe('sink');
    expect((await call('GET', '/connectors/src/config')).body).toMatchObject({ topic: 'rest-lines' });
    expect((await call('GET', '/connectors/sink/tasks')).body).toEqual([
      { id: { connector: 'sink', task: 0 }, config: expect.objectContaining({ topics: 'rest-lines' }) },
      { id: { connector: 'sink', task: 1 }, config: expect.objectContaining({ topics: 'rest-lines' }) },
    ]);
    expect(await status('src')).toEqual({
      name: 'src',
      connector: { state: 'RUNNING', worker_id: `127.0.0.1:${worker.rest.port}` },
      tasks: [{ id: 0, state: 'RUNNING', worker_id: `127.0.0.1:${worker.rest.port}` }],
      type: 'source',
    });
    expect((await call('GET', '/connectors/src/tasks/0/status')).body).toEqual({ id: 0, state: 'RUNNING', worker_id: `127.0.0.1:${worker.rest.port}` });

    await eventually(async () => ((await call('GET', '/connectors/src/offsets')).body as { offsets: unknown[] }).offsets.length === 1, { what: 'a stored source offset' });
    const sourceOffsets = (await call('GET', '/connectors/src/offsets')).body as { offsets: { partition: unknown; offset: { position: number } }[] };
    expect(sourceOffsets.offsets[0]!.partition).toEqual({ filename: input });
    await eventually(async () => ((await call('GET', '/connectors/sink/offsets')).body as { offsets: unknown[] }).offsets.length === 1, { what: 'a committed sink offset' });
    expect((await call('GET', '/connectors/sink/offsets')).body).toEqual({ offsets: [{ partition: { kafka_topic: 'rest-lines', kafka_partition: 0 }, offset: { kafka_offset: 100 } }] });

    // KIP-558: the topics each connector produced to or consumed from, until reset; any name answers, as Kafka's.
    expect(await call('GET', '/connectors/src/topics')).toMatchObject({ status: 200, body: { src: { topics: ['rest-lines'] } } });
    expect((await call('GET', '/connectors/sink/topics')).body).toEqual({ sink: { topics: ['rest-lines'] } });
    expect((await call('GET', '/connectors/ghost/topics')).body).toEqual({ ghost: { topics: [] } });
    expect(await call('PUT', '/connectors/src/topics/reset')).toMatchObject({ status: 202, body: null });
    expect((await call('GET', '/connectors/src/topics')).body).toEqual({ src: { topics: [] } });

    const updated = await call('PUT', '/connectors/src/config', { 'connector.class': 'FileStreamSource', file: input, topic: 'rest-lines', 'batch.size': '10' });
    expect(updated.status).toBe(200);
    expect((updated.body as { config: Record<string, string> }).config['batch.size']).toBe('10');
    // KIP-477: a PATCH changes the settings it names, removes those it sets to null, keeps the rest.
    const patched = await call('PATCH', '/connectors/src/config', { 'batch.size': '20', 'tasks.max': null });
    expect(patched).toMatchObject({ status: 200, body: { name: 'src', config: { 'connector.class': 'FileStreamSource', file: input, topic: 'rest-lines', 'batch.size': '20', name: 'src' }, type: 'source' } });
    expect((patched.body as { config: Record<string, string> }).config['tasks.max']).toBeUndefined();
    expect(await call('PATCH', '/connectors/src/config', { 'batch.size': 'lots' })).toMatchObject({ status: 400, body: { message: expect.stringContaining('Invalid value lots for configuration batch.size') } });
    expect((await call('GET', '/connectors/src/config')).body).toMatchObject({ 'batch.size': '20' });

    expect((await call('PUT', '/connectors/src/pause')).status).toBe(202);
    expect(await status('src')).toMatchObject({ connector: { state: 'PAUSED' }, tasks: [{ state: 'PAUSED' }] });
    expect((await call('PUT', '/connectors/src/resume')).status).toBe(202);
    await eventually(async () => (await status('src')).tasks[0]?.state === 'RUNNING', { what: 'the resumed task running' });
    expect((await status('src')).connector.state).toBe('RUNNING');

    expect((await call('PUT', '/connectors/sink/stop')).status).toBe(204);
    expect(await status('sink')).toMatchObject({ connector: { state: 'STOPPED' }, tasks: [] });
    expect((await call('GET', '/connectors/sink/tasks')).body).toEqual([]);
    // KIP-875: offsets change only while the connector is stopped; the sink then resumes from the altered offset.
    expect(await call('PATCH', '/connectors/src/offsets', { offsets: [{ partition: { filename: input }, offset: { position: 0 } }] })).toEqual({
      status: 400,
      body: { error_code: 400, message: "Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/src/stop' endpoint" },
      contentType: 'application/json; charset=utf-8',
      location: '',
    });
    expect(await call('PATCH', '/connectors/sink/offsets', { offsets: [] })).toMatchObject({ status: 400, body: { message: 'Partitions / offsets need to be provided for an alter offsets request' } });
    expect(await call('PATCH', '/connectors/sink/offsets', { offsets: [{ partition: { kafka_topic: 'rest-lines' }, offset: { kafka_offset: 1 } }] })).toMatchObject({
      status: 400,
      body: { message: "The partition for a sink connector offset must contain the keys 'kafka_topic' and 'kafka_partition'" },
    });
    expect(await call('PATCH', '/connectors/sink/offsets', { offsets: [{ partition: { kafka_topic: 'rest-lines', kafka_partition: 0 }, offset: { kafka_offset: 'x' } }] })).toMatchObject({
      status: 400,
      body: { message: "Failed to parse the following Kafka offset value in the provided offsets: 'x'. Offset values for sink connectors need to be integers." },
    });
    expect(await call('PATCH', '/connectors/sink/offsets', { offsets: [{ partition: { kafka_topic: 'rest-lines', kafka_partition: '0' }, offset: { kafka_offset: '40' } }] })).toMatchObject({
      status: 200,
      body: { message: 'The offsets for this connector have been altered successfully' },
    });
    expect((await call('GET', '/connectors/sink/offsets')).body).toEqual({ offsets: [{ partition: { kafka_topic: 'rest-lines', kafka_partition: 0 }, offset: { kafka_offset: 40 } }] });
    expect((await call('PUT', '/connectors/sink/resume')).status).toBe(202);
    await eventually(async () => (await status('sink')).tasks.filter((task) => task.state === 'RUNNING').length === 2, { what: 'both sink tasks running again' });
    await eventually(() => fileLines(output).length === 160, { what: 'the 60 lines after the altered offset written again' });
    expect(fileLines(output).slice(100)).toEqual(fileLines(output).slice(40, 100));

    // A source's offsets: the connector checks them (Kafka answers its refusal with 500); a reset makes it read the file again.
    expect((await call('PUT', '/connectors/src/stop')).status).toBe(204);
    expect(await call('PATCH', '/connectors/src/offsets', { offsets: [{ partition: { filename: input }, offset: { position: -1 } }] })).toMatchObject({
      status: 500,
      body: { error_code: 500, message: "Failed to modify offsets for connector src: The value for the 'position' key in the offset should be a non-negative value" },
    });
    expect(await call('DELETE', '/connectors/src/offsets')).toMatchObject({ status: 200, body: { message: 'The offsets for this connector have been reset successfully' } });
    expect((await call('GET', '/connectors/src/offsets')).body).toEqual({ offsets: [] });
    expect((await call('PUT', '/connectors/src/resume')).status).toBe(202);
    await eventually(() => fileLines(output).length === 260, { what: 'the file read again after its offsets were reset' });
    expect((await call('GET', '/connectors/src/topics')).body).toEqual({ src: { topics: ['rest-lines'] } });

    expect((await call('POST', '/connectors/src/restart')).status).toBe(204);
    const restarted = await call('POST', '/connectors/src/restart?includeTasks=true');
    expect(restarted.status).toBe(202);
    expect(restarted.body).toMatchObject({ name: 'src', connector: { state: 'RESTARTING' }, tasks: [{ id: 0, state: 'RESTARTING' }], type: 'source' });
    await eventually(async () => (await status('src')).tasks[0]?.state === 'RUNNING', { what: 'the restarted task running' });
    expect((await call('POST', '/connectors/src/restart?includeTasks=maybe')).status).toBe(400);

    expect((await call('DELETE', '/connectors/src')).status).toBe(204);
    expect(await call('GET', '/connectors/src')).toMatchObject({ status: 404, body: { error_code: 404, message: 'Connector src not found' } });
    expect(await call('GET', '/connectors/src/status')).toMatchObject({ status: 404, body: { message: 'Connector src not found' } });
    expect((await call('DELETE', '/connectors/sink')).status).toBe(204);
  });

  it('reports a failed task with its trace, and restarts only what failed', async () => {
    const notAFile = join(dir, 'a-directory');
    mkdirSync(notAFile);
    await call('POST', '/connectors', { name: 'broken', config: { 'connector.class': 'FileStreamSource', file: notAFile, topic: 'never' } });
    await eventually(async () => (await status('broken')).tasks[0]?.state === 'FAILED', { what: 'the task failing on a directory' });
    const failed = await status('broken');
    expect(failed.connector.state).toBe('RUNNING');
    expect(failed.tasks[0]!.trace).toContain('EISDIR');

    const plan = await call('POST', '/connectors/broken/restart?includeTasks=true&onlyFailed=true');
    expect(plan.status).toBe(202);
    expect(plan.body).toMatchObject({ connector: { state: 'RUNNING' }, tasks: [{ id: 0, state: 'RESTARTING' }] });
    // Still a directory: it fails again, and a file in its place lets it run.
    await eventually(async () => (await status('broken')).tasks[0]?.state === 'FAILED', { what: 'the restarted task failing again' });
    writeFileSync(join(dir, 'fixed.txt'), 'one\n');
    expect((await call('PUT', '/connectors/broken/config', { 'connector.class': 'FileStreamSource', file: join(dir, 'fixed.txt'), topic: 'fixed' })).status).toBe(200);
    await eventually(async () => (await status('broken')).tasks[0]?.state === 'RUNNING', { what: 'the reconfigured task running' });
    expect((await call('DELETE', '/connectors/broken')).status).toBe(204);
  });
});

describe('a worker without topic tracking', () => {
  it('answers the active-topics endpoints with 403, as Kafka Connect does', async () => {
    const quietDir = makeTempDir('connect-rest-topics');
    const untracked = await startStandalone({ workerProps: { ...stringConverterProps(quietDir), 'topic.tracking.enable': 'false' }, log: { info: () => {}, error: () => {} } });
    const resetless = await startStandalone({ workerProps: { ...stringConverterProps(join(quietDir, 'b')), 'topic.tracking.allow.reset': 'false' }, log: { info: () => {}, error: () => {} } });
    try {
      expect(await call('GET', '/connectors/any/topics', undefined, { baseUrl: untracked.rest.url })).toMatchObject({ status: 403, body: { error_code: 403, message: 'Topic tracking is disabled.' } });
      expect(await call('PUT', '/connectors/any/topics/reset', undefined, { baseUrl: untracked.rest.url })).toMatchObject({ status: 403, body: { message: 'Topic tracking is disabled.' } });
      expect(await call('GET', '/connectors/any/topics', undefined, { baseUrl: resetless.rest.url })).toMatchObject({ status: 200, body: { any: { topics: [] } } });
      expect(await call('PUT', '/connectors/any/topics/reset', undefined, { baseUrl: resetless.rest.url })).toMatchObject({ status: 403, body: { message: 'Topic tracking reset is disabled.' } });
    } finally {
      await untracked.close();
      await resetless.close();
      removeTempDir(quietDir);
    }
  });
});
