/**
 * The web console: HTML pages rendered here, charts as inline SVG, no script and nothing
 * fetched from elsewhere, so it works offline and behind any proxy.
 *
 *   GET /                              topics: partitions, messages, sizes, traffic
 *   GET /topics/{topic}                partitions' offsets and sizes, configs, consumer groups
 *   GET /topics/{topic}/messages       message browser: ?partition, ?offset or ?timestamp, ?format, ?limit
 *                                      (format text, json, hex, or schema with the schemaRegistry option)
 *   GET /groups                        consumer groups: state, members, lag, Burrow status
 *   GET /groups/{group}                members and assignment, lag per partition, lag over time
 *   GET /load                          records in and out, shard rings and backlog over time
 *
 * Pages with live figures reload themselves every `refreshSeconds`; the charts draw the
 * BrokerHistory sampled every `sampleIntervalMs`. Access is the HTTP server's: basic auth when
 * the broker has SASL users, and with an authorizer DESCRIBE on a topic or group to see it,
 * READ on a topic to browse its messages, DESCRIBE on the cluster for the load page.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Broker } from '../../broker/broker.js';
import { describeEffectiveTopicConfigs } from '../../broker/broker-configs.js';
import { decodeAssignment } from '../../broker/consumer-protocol.js';
import { InvalidConfigError, InvalidRequestError } from '../../errors.js';
import { formatCount } from '../../format.js';
import type { SchemaRegistryClient } from '../../client/schema-registry-client.js';
import type { HttpAccess } from '../access.js';
import { burrowGroupStatus, describableGroups, groupsReadingTopic, lagOrNull, ownersOf } from '../burrow.js';
import type { TimeChartOptions, TimePoint } from './charts.js';
import type { BrokerHistory } from './history.js';
import { formatSize, formatTime, html, page, query, raw, status, type Html, type Section } from './html.js';
import {
  DEFAULT_PAGE_RECORDS,
  MAX_PAGE_RECORDS,
  RECORD_FORMATS,
  formatBytesAs,
  formatWithSchema,
  parseTimestamp,
  readRecords,
  type RecordFormat,
} from './records.js';

/** How the browser shows keys and values: RecordFormat, or decoded with the Schema Registry. */
type BrowseFormat = RecordFormat | 'schema';

export interface ConsoleOptions {
  /** Seconds between a page's reloads. Default 5. */
  refreshSeconds?: number;
  /** Time between the samples the charts draw. Default 5000 ms. */
  sampleIntervalMs?: number;
  /** Samples kept per chart. Default 360 (30 minutes at 5 s). */
  historySamples?: number;
  /** A Schema Registry's base URL (Sluice's or Confluent's): the message browser then decodes wire-format keys and values with it. */
  schemaRegistry?: string;
}

export const DEFAULT_REFRESH_SECONDS = 5;
const KNOWN_KEYS = new Set(['refreshSeconds', 'sampleIntervalMs', 'historySamples', 'schemaRegistry']);
/** Partitions of a group drawn one line each up to this many; past it the chart draws the group's total. */
const MAX_PARTITION_SERIES = 10;

/** Checks the console options; returns the refresh period. */
export function checkConsoleOptions(options: ConsoleOptions): number {
  if (options === null || typeof options !== 'object') throw new InvalidConfigError('http console options must be an object such as { refreshSeconds: 5 }, or false');
  for (const key of Object.keys(options)) {
    if (!KNOWN_KEYS.has(key)) throw new InvalidConfigError(`unknown http console option "${key}"; known options are ${[...KNOWN_KEYS].join(', ')}`);
  }
  const { refreshSeconds = DEFAULT_REFRESH_SECONDS } = options;
  if (!Number.isInteger(refreshSeconds) || refreshSeconds < 1 || refreshSeconds > 3600) {
    throw new InvalidConfigError(`http console refreshSeconds must be an integer from 1 to 3600, got ${String(refreshSeconds)}`);
  }
  return refreshSeconds;
}

export interface ConsoleContext {
  readonly broker: Broker;
  readonly clusterName: string;
  readonly access: HttpAccess;
  readonly history: BrokerHistory;
  readonly refreshSeconds: number;
  /** The registry the message browser's "schema" format decodes with; null: no such format. */
  readonly registry: SchemaRegistryClient | null;
}

type Charts = typeof import('./charts.js');
let charts: Promise<Charts> | null = null;

async function chart(points: readonly TimePoint[], options: TimeChartOptions): Promise<Html> {
  if (points.length === 0) return html`<p class="empty">No samples yet.</p>`;
  charts ??= import('./charts.js');
  // The SVG is vega's, drawn from numbers and from names escaped by vega's SVG renderer.
  return html`<figure class="chart">${raw(await (await charts).timeChartSvg(points, options))}</figure>`;
}

export function registerConsoleRoutes(app: FastifyInstance, context: ConsoleContext): void {
  const { broker, clusterName, access, history, refreshSeconds, registry } = context;
  const formats: readonly BrowseFormat[] = registry === null ? RECORD_FORMATS : [...RECORD_FORMATS, 'schema'];

  const send = (response: FastifyReply, section: Section, title: string, body: Html, refresh: boolean): FastifyReply =>
    response
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .send(page({ title, cluster: clusterName, section, refreshSeconds: refresh ? refreshSeconds : undefined }, body).text);

  const fail = (response: FastifyReply, section: Section, code: number, message: string): FastifyReply =>
    send(response.code(code), section, 'Error', html`<h1>${code === 404 ? 'Not found' : code === 403 ? 'Not authorized' : 'Bad request'}</h1><p class="error">${message}</p>`, false);

  const mayTopic = (request: FastifyRequest, topic: string): boolean => access.mayDescribe(request.caller, 'TOPIC', topic);
  /** The topics the caller may describe, by name, the broker's internal ones last. */
  const topicNames = (request: FastifyRequest): string[] =>
    broker
      .listTopics()
      .filter((t) => mayTopic(request, t.name))
      .sort((a, b) => Number(a.internal) - Number(b.internal) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((t) => t.name);

  const topicLink = (topic: string) => html`<a href="/topics/${encodeURIComponent(topic)}">${topic}</a>`;
  const groupLink = (group: string) => html`<a href="/groups/${encodeURIComponent(group)}">${group}</a>`;

  /** Burrow's status of the group over the partitions the caller may describe, or null when it has none. */
  const groupJudgement = (request: FastifyRequest, groupId: string) => {
    const report = lagOrNull(broker, groupId);
    if (report === null) return null;
    return { report, status: burrowGroupStatus(clusterName, report, ownersOf(broker, groupId), true, (p) => mayTopic(request, p.topic)) };
  };

  const groupsTable = (request: FastifyRequest): Html => {
    const rows = describableGroups(broker, access, request.caller).map((id) => {
      const group = broker.groups.describeGroup(id);
      const judged = groupJudgement(request, id);
      return html`<tr><td>${groupLink(id)}</td><td>${group.state}</td><td>${group.protocolType || '-'}</td><td class="num">${group.members.length}</td>
<td class="num">${judged === null ? '-' : formatCount(judged.status.totallag)}</td><td>${judged === null ? '-' : status(judged.status.status)}</td></tr>`;
    });
    return rows.length === 0
      ? html`<p class="empty">No consumer groups.</p>`
      : html`<table class="groups"><thead><tr><th>Group</th><th>State</th><th>Protocol</th><th class="num">Members</th><th class="num">Total lag</th><th>Status</th></tr></thead>
<tbody>${rows}</tbody></table>
<p class="note">Status: Burrow's evaluation of each partition's recent commits (OK, WARN, STOP, STALL, REWIND; ERR for an offset outside the log).</p>`;
  };

  // ---- Topics ----

  app.get('/', async (request, response) => {
    const names = topicNames(request);
    const stats = broker.partitionStats();
    const sizes = await broker.describeLogDir(null);
    const rows = names.map((name) => {
      const metadata = broker.topicMetadata(name);
      const mine = stats.filter((s) => s.topic === name);
      const sum = (value: (s: (typeof mine)[number]) => number) => mine.reduce((total, s) => total + value(s), 0);
      const sizeBytes = sizes.partitions.filter((p) => p.topic === name).reduce((total, p) => total + p.sizeBytes, 0);
      return html`<tr><td>${topicLink(name)}${metadata.internal ? html` <span class="muted">internal</span>` : ''}</td>
<td class="num">${metadata.partitionCount}</td><td class="num">${formatCount(sum((s) => s.highWatermark - s.logStartOffset))}</td>
<td class="num">${formatSize(sizeBytes)}</td><td class="num">${formatCount(sum((s) => s.traffic.recordsIn))}</td>
<td class="num">${formatCount(sum((s) => s.traffic.recordsOut))}</td></tr>`;
    });
    const body = html`<h1>Topics</h1>
${
  rows.length === 0
    ? html`<p class="empty">No topics.</p>`
    : html`<table class="topics"><thead><tr><th>Topic</th><th class="num">Partitions</th><th class="num">Records held</th><th class="num">Size on disk</th>
<th class="num">Records in</th><th class="num">Records out</th></tr></thead><tbody>${rows}</tbody></table>
<p class="note">Records held: from each partition's log start to its high watermark. In and out: since the broker opened (out counts every fetch, this console's included).</p>`
}
<h2>Consumer groups</h2>
${groupsTable(request)}`;
    return send(response, 'topics', 'Topics', body, true);
  });

  app.get('/topics/:topic', async (request: FastifyRequest<{ Params: { topic: string } }>, response) => {
    const { topic } = request.params;
    const metadata = broker.listTopics().find((t) => t.name === topic);
    if (metadata === undefined || !mayTopic(request, topic)) return fail(response, 'topics', 404, `No topic "${topic}".`);
    const stats = broker.partitionStats().filter((s) => s.topic === topic);
    const sizes = new Map(
      (await broker.describeLogDir(stats.map((s) => ({ topic, partition: s.partition })))).partitions.map((p) => [p.partition, p.sizeBytes]),
    );
    const partitions = stats
      .sort((a, b) => a.partition - b.partition)
      .map(
        (s) => html`<tr><td class="num">${s.partition}</td><td class="num">${formatCount(s.logStartOffset)}</td><td class="num">${formatCount(s.highWatermark)}</td>
<td class="num">${formatCount(s.lastStableOffset)}</td><td class="num">${formatCount(s.logEndOffset)}</td><td class="num">${formatSize(sizes.get(s.partition) ?? 0)}</td>
<td class="num">${formatCount(s.traffic.recordsIn)}</td><td class="num">${formatCount(s.traffic.recordsOut)}</td><td class="num">${s.shard}</td>
<td><a href="/topics/${encodeURIComponent(topic)}/messages?${query({ partition: s.partition, offset: s.logStartOffset })}">browse</a></td></tr>`,
      );
    const configs = describeEffectiveTopicConfigs(metadata.configs, { default: broker.brokerConfigs('default'), broker: broker.brokerConfigs('broker') });
    const configRow = (c: (typeof configs)[number]) =>
      html`<tr class="${c.isDefault ? '' : 'override'}"><td>${c.name}</td><td>${c.value}</td><td class="muted">${c.source}</td></tr>`;
    const overridden = configs.filter((c) => !c.isDefault);
    const consumers = groupsReadingTopic(broker, access, request.caller, topic);
    const body = html`<h1>Topic ${topic}</h1>
<p class="muted">id ${metadata.topicId} · created ${formatTime(metadata.createdAtMs)}${metadata.internal ? ' · internal' : ''}</p>
<h2>Partitions</h2>
<table class="partitions"><thead><tr><th class="num">Partition</th><th class="num">Log start</th><th class="num">High watermark</th><th class="num">Last stable</th>
<th class="num">Log end</th><th class="num">Size</th><th class="num">Records in</th><th class="num">Records out</th><th class="num">Shard</th><th></th></tr></thead>
<tbody>${partitions}</tbody></table>
<h2>Consumer groups</h2>
${consumers.length === 0 ? html`<p class="empty">No group has committed offsets on this topic.</p>` : html`<p>${consumers.map((id, i) => html`${i > 0 ? ', ' : ''}${groupLink(id)}`)}</p>`}
<h2>Configs</h2>
${overridden.length === 0 ? html`<p class="muted">Every config at its default.</p>` : html`<table class="configs"><tbody>${overridden.map(configRow)}</tbody></table>`}
<details><summary>All ${configs.length} configs</summary><table class="configs"><thead><tr><th>Name</th><th>Value</th><th>Source</th></tr></thead><tbody>${configs.map(configRow)}</tbody></table></details>`;
    return send(response, 'topics', `Topic ${topic}`, body, true);
  });

  app.get(
    '/topics/:topic/messages',
    async (request: FastifyRequest<{ Params: { topic: string }; Querystring: Record<string, string | undefined> }>, response) => {
      const { topic } = request.params;
      const metadata = broker.listTopics().find((t) => t.name === topic);
      if (metadata === undefined || !mayTopic(request, topic)) return fail(response, 'topics', 404, `No topic "${topic}".`);
      if (!access.mayRead(request.caller, topic)) return fail(response, 'topics', 403, `Not authorized to read topic "${topic}".`);
      const q = request.query;
      let partition: number;
      let limit: number;
      let format: BrowseFormat;
      let fromOffset: number | null;
      let timestampMs: number | null = null;
      try {
        partition = integerParam(q.partition, 'partition', 0, 0, metadata.partitionCount - 1);
        limit = integerParam(q.limit, 'limit', DEFAULT_PAGE_RECORDS, 1, MAX_PAGE_RECORDS);
        format = (q.format ?? 'text') as BrowseFormat;
        if (!formats.includes(format)) {
          const hint = registry === null && format === 'schema' ? ' (schema needs the console\'s schemaRegistry option)' : '';
          throw new InvalidRequestError(`format must be one of ${formats.join(', ')}, got ${JSON.stringify(q.format)}${hint}`);
        }
        if (q.timestamp !== undefined && q.timestamp !== '') {
          timestampMs = parseTimestamp(q.timestamp);
          fromOffset = await broker.offsetForTimestamp(topic, partition, timestampMs);
        } else {
          fromOffset = integerParam(q.offset, 'offset', 0, 0, Number.MAX_SAFE_INTEGER);
        }
      } catch (error) {
        if (error instanceof InvalidRequestError) return fail(response, 'topics', 400, error.message);
        throw error;
      }
      const found = fromOffset === null ? null : readRecords(broker, topic, partition, fromOffset, limit);
      // Decoded with the registry before rendering: its schemas are fetched (once each) over HTTP.
      const decoded = new Map<Buffer, { text: string; note: string | null }>();
      if (format === 'schema' && registry !== null && found !== null) {
        for (const record of found.records) {
          for (const bytes of [record.key, record.value]) if (bytes !== null) decoded.set(bytes, await formatWithSchema(registry, bytes));
        }
      }
      const shown = (bytes: Buffer | null): Html => {
        const { text, note } = (bytes === null ? undefined : decoded.get(bytes)) ?? formatBytesAs(bytes, format === 'schema' ? 'text' : format);
        return html`<pre>${text}</pre>${note === null ? '' : html`<span class="note">${note}</span>`}`;
      };
      const records =
        found === null
          ? html`<p class="empty">No record at or after ${formatTime(timestampMs ?? 0)}.</p>`
          : found.records.length === 0
            ? html`<p class="empty">No records from offset ${formatCount(found.fromOffset)} (log start ${formatCount(found.logStartOffset)}, high watermark ${formatCount(found.highWatermark)}).</p>`
            : html`<table class="records"><thead><tr><th class="num">Offset</th><th>Timestamp</th><th>Key</th><th>Value</th><th>Headers</th></tr></thead><tbody>
${found.records.map(
  (r) => html`<tr><td class="num">${r.offset}</td><td>${formatTime(r.timestamp)}</td><td class="field">${shown(r.key)}</td><td class="field">${shown(r.value)}</td>
<td>${r.headers.length === 0 ? html`<span class="muted">none</span>` : r.headers.map((h) => html`<div class="header"><strong>${h.key}</strong>: ${shown(h.value)}</div>`)}</td></tr>`,
)}
</tbody></table>`;
      const base = `/topics/${encodeURIComponent(topic)}/messages`;
      const navigation =
        found === null
          ? ''
          : html`<p>${
              found.fromOffset > found.logStartOffset
                ? html`<a href="${base}?${query({ partition, offset: Math.max(found.logStartOffset, found.fromOffset - limit), format, limit })}">« previous ${limit}</a> · `
                : ''
            }${
              found.nextOffset < found.highWatermark
                ? html`<a href="${base}?${query({ partition, offset: found.nextOffset, format, limit })}">next ${limit} »</a>`
                : html`<span class="muted">end of the partition (high watermark ${formatCount(found.highWatermark)})</span>`
            }</p>`;
      const partitionOptions = Array.from({ length: metadata.partitionCount }, (_, p) => html`<option value="${p}"${p === partition ? raw(' selected') : ''}>${p}</option>`);
      const formatOptions = formats.map((f) => html`<option value="${f}"${f === format ? raw(' selected') : ''}>${f}</option>`);
      const body = html`<h1>Messages of ${topicLink(topic)}, partition ${partition}</h1>
<form class="browse" method="get" action="${base}">
<label>Partition <select name="partition">${partitionOptions}</select></label>
<label>From offset <input name="offset" type="number" min="0" value="${timestampMs === null ? (found?.fromOffset ?? '') : ''}"></label>
<label>or from time (ms or ISO 8601, UTC) <input name="timestamp" size="24" placeholder="2026-01-31T12:00:00Z" value="${q.timestamp ?? ''}"></label>
<label>Show as <select name="format">${formatOptions}</select></label>
<label>Records <input name="limit" type="number" min="1" max="${MAX_PAGE_RECORDS}" value="${limit}"></label>
<button type="submit">Show</button>
</form>
<p class="note">${
        registry === null
          ? 'No Schema Registry configured (the console\'s schemaRegistry option): keys and values are shown as text, JSON or hex.'
          : `"schema" decodes keys and values with the schema their id names in the registry at ${registry.url}; headers are shown as text.`
      }</p>
${records}
${navigation}`;
      return send(response, 'topics', `Messages of ${topic}`, body, false);
    },
  );

  // ---- Consumer groups ----

  app.get('/groups', async (request, response) => send(response, 'groups', 'Consumer groups', html`<h1>Consumer groups</h1>${groupsTable(request)}`, true));

  app.get('/groups/:group', async (request: FastifyRequest<{ Params: { group: string } }>, response) => {
    const { group: groupId } = request.params;
    if (!access.mayDescribe(request.caller, 'GROUP', groupId)) return fail(response, 'groups', 403, `Not authorized to describe consumer group "${groupId}".`);
    const judged = groupJudgement(request, groupId);
    if (judged === null) return fail(response, 'groups', 404, `No consumer group "${groupId}".`);
    const group = broker.groups.describeGroup(groupId);
    const members = group.members.map((m) => {
      let assigned: Html | string = '';
      if (group.protocolType === 'consumer' && m.assignment.length > 0) {
        try {
          assigned = decodeAssignment(m.assignment)
            .assignedPartitions.filter(({ topic }) => mayTopic(request, topic))
            .map(({ topic, partitions }) => html`<div>${topic}: ${partitions.join(', ')}</div>`)
            .reduce<Html | string>((all, line) => html`${all}${line}`, '');
        } catch {
          assigned = html`<span class="muted">not the consumer protocol's format</span>`;
        }
      }
      return html`<tr><td>${m.memberId}</td><td>${m.clientId}</td><td>${m.clientHost}</td><td>${assigned}</td></tr>`;
    });
    const committed = new Map(judged.report.partitions.map((p) => [`${p.topic}-${p.partition}`, p]));
    const partitions = judged.status.partitions.map((p) => {
      const offsets = committed.get(`${p.topic}-${p.partition}`);
      return html`<tr><td>${topicLink(p.topic)}</td><td class="num">${p.partition}</td><td class="num">${formatCount(offsets?.committedOffset ?? 0)}</td>
<td class="num">${formatCount(offsets?.lastStableOffset ?? 0)}</td><td class="num">${formatCount(p.current_lag)}</td><td>${status(p.status)}</td><td>${p.client_id || '-'}</td></tr>`;
    });
    const visible = new Set(judged.status.partitions.map((p) => `${p.topic}-${p.partition}`));
    const perPartition = visible.size <= MAX_PARTITION_SERIES;
    const points: TimePoint[] = [];
    for (const sample of history.all()) {
      const lags = sample.groups.get(groupId);
      if (lags === undefined) continue;
      let total = 0;
      for (const [key, p] of lags.partitions) {
        if (!visible.has(key)) continue;
        if (perPartition) points.push({ atMs: sample.atMs, series: key, value: p.lag });
        total += p.lag;
      }
      if (!perPartition) points.push({ atMs: sample.atMs, series: 'total', value: total });
    }
    const lagChart = await chart(points, {
      yTitle: 'lag (records)',
      seriesTitle: perPartition ? 'partition' : 'all partitions',
      description: `Lag of consumer group ${groupId} over time`,
    });
    const body = html`<h1>Consumer group ${groupId} ${status(judged.status.status)}</h1>
<p class="muted">state ${group.state} · protocol ${group.protocolType || '-'}${group.protocolName ? ` (${group.protocolName})` : ''} · generation ${group.generationId}</p>
<h2>Lag over time</h2>
${lagChart}
<p class="note" id="lag-now">Total lag now: <strong>${formatCount(judged.status.totallag)}</strong> records · sampled every ${history.sampleIntervalMs / 1000} s, last ${history.historySamples} samples kept</p>
<h2>Partitions</h2>
${
  partitions.length === 0
    ? html`<p class="empty">No committed offsets.</p>`
    : html`<table class="lag"><thead><tr><th>Topic</th><th class="num">Partition</th><th class="num">Committed</th><th class="num">Last stable</th><th class="num">Lag</th><th>Status</th><th>Consumer</th></tr></thead>
<tbody>${partitions}</tbody></table>`
}
<h2>Members</h2>
${
  members.length === 0
    ? html`<p class="empty">No members: no consumer is in the group now.</p>`
    : html`<table class="members"><thead><tr><th>Member</th><th>Client id</th><th>Host</th><th>Assignment</th></tr></thead><tbody>${members}</tbody></table>`
}`;
    return send(response, 'groups', `Group ${groupId}`, body, true);
  });

  // ---- Broker and shard load ----

  app.get('/load', async (request, response) => {
    if (!access.mayDescribe(request.caller, 'CLUSTER', '')) return fail(response, 'load', 403, 'Not authorized to describe the cluster (needed for the load page).');
    const samples = history.all();
    const traffic: TimePoint[] = [];
    const shardTraffic: TimePoint[] = [];
    const rings: TimePoint[] = [];
    const backlog: TimePoint[] = [];
    for (const s of samples) {
      if (s.recordsInPerSec !== null) traffic.push({ atMs: s.atMs, series: 'in (produced)', value: s.recordsInPerSec });
      if (s.recordsOutPerSec !== null) traffic.push({ atMs: s.atMs, series: 'out (fetched)', value: s.recordsOutPerSec });
      for (const shard of s.shards) {
        if (shard.recordsInPerSec !== null) shardTraffic.push({ atMs: s.atMs, series: `shard ${shard.shard} in`, value: shard.recordsInPerSec });
        if (shard.recordsOutPerSec !== null) shardTraffic.push({ atMs: s.atMs, series: `shard ${shard.shard} out`, value: shard.recordsOutPerSec });
        rings.push({ atMs: s.atMs, series: `shard ${shard.shard}`, value: shard.requestRingUsedBytes });
        backlog.push({ atMs: s.atMs, series: `shard ${shard.shard}`, value: shard.backlogRequests });
      }
    }
    const shards = broker.shardStats().map(
      (s) => html`<tr><td class="num">${s.shard}</td><td class="num">${formatSize(s.rings.requestUsedBytes)} of ${formatSize(s.rings.requestCapacityBytes)}</td>
<td class="num">${formatSize(s.rings.completionUsedBytes)} of ${formatSize(s.rings.completionCapacityBytes)}</td><td class="num">${formatCount(s.rings.backlogMessages)}</td>
<td class="num">${formatCount(s.rings.ringFullWaits)}</td><td class="num">${s.restarts}</td></tr>`,
    );
    const body = html`<h1>Broker load</h1>
<h2>Records per second</h2>
${await chart(traffic, { yTitle: 'records/s', seriesTitle: 'direction', description: 'Records produced and fetched per second over time' })}
<h2>Records per second by shard</h2>
${await chart(shardTraffic, { yTitle: 'records/s', seriesTitle: 'shard', description: 'Records produced and fetched per second on each shard over time' })}
<h2>Shard request rings</h2>
<p class="note">Bytes waiting in each shard's request ring at each sample; a ring that stays full queues requests in the backlog below.</p>
${await chart(rings, { yTitle: 'bytes held', seriesTitle: 'shard', description: "Bytes held in each shard's request ring over time", heightPx: 120 })}
<h2>Shard backlog</h2>
${await chart(backlog, { yTitle: 'requests queued', seriesTitle: 'shard', description: 'Requests queued while a request ring was full, per shard, over time', heightPx: 120 })}
<h2>Shards now</h2>
<table class="shards"><thead><tr><th class="num">Shard</th><th class="num">Request ring</th><th class="num">Completion ring</th><th class="num">Backlog</th><th class="num">Ring-full waits</th><th class="num">Restarts</th></tr></thead>
<tbody>${shards}</tbody></table>
<p class="note">Sampled every ${history.sampleIntervalMs / 1000} s, last ${history.historySamples} samples kept.</p>`;
    return send(response, 'load', 'Broker load', body, true);
  });
}

function integerParam(text: string | undefined, name: string, fallback: number, min: number, max: number): number {
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidRequestError(`${name} must be an integer from ${min} to ${max}, got ${JSON.stringify(text)}`);
  }
  return value;
}
