/**
 * Asking the HTTP server over a real socket (Node's fetch), and reading /metrics with a
 * Prometheus text-format parser (parse-prometheus-text-format, prom2json's output shape).
 */
import parsePrometheusTextFormat, { type PromFamily } from 'parse-prometheus-text-format';
import { expect } from 'vitest';

export interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
}

export function basicAuth(user: string, password: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}

export async function get(base: string, path: string, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  const response = await fetch(`${base}${path}`, { headers });
  return { status: response.status, headers: response.headers, text: await response.text() };
}

export async function getJson(base: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: any }> {
  const answer = await get(base, path, headers);
  expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
  return { status: answer.status, body: JSON.parse(answer.text) };
}

/** The scrape parsed, and its text (for labelled histograms, see histogramLine). */
export async function scrape(base: string, headers: Record<string, string> = {}): Promise<{ families: PromFamily[]; text: string }> {
  const answer = await get(base, '/metrics', headers);
  expect(answer.status).toBe(200);
  expect(answer.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return { families: parsePrometheusTextFormat(answer.text), text: answer.text };
}

/**
 * The value of one series of a labelled histogram (`<name>_count{...}`, `<name>_sum{...}`),
 * read from the text: parse-prometheus-text-format merges the series of a labelled histogram
 * into one and drops their labels and sums (its open issue #13), so those lines are read here.
 */
export function histogramLine(text: string, series: string): number | undefined {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** The family named `name`; fails the test when the scrape has none. */
export function family(families: PromFamily[], name: string): PromFamily {
  const found = families.find((candidate) => candidate.name === name);
  if (found === undefined) throw new Error(`no metric family ${name} in the scrape`);
  return found;
}

/** The value of the sample of `name` whose labels include `labels`, or undefined. */
export function sample(families: PromFamily[], name: string, labels: Record<string, string> = {}): number | undefined {
  const match = family(families, name).metrics.find((metric) => Object.entries(labels).every(([key, value]) => metric.labels?.[key] === value));
  return match?.value === undefined ? undefined : Number(match.value);
}
