/**
 * HTML for the console, escaped by construction: `html` is a tagged template whose every
 * interpolated value is escaped unless it is itself Html (made by `html` or `raw`), so topic
 * names, keys, values and headers, whatever they hold, land in the page as text.
 */
const ESCAPES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

export type HtmlValue = Html | string | number | null | undefined | readonly HtmlValue[];

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

function render(value: HtmlValue): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Html) return value.text;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): Html {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1];
  return new Html(out);
}

/** Markup trusted as is: only for text this module's callers made (the charts' SVG, the style sheet). */
export function raw(text: string): Html {
  return new Html(text);
}

/** A query-string value, for links. */
export function query(params: Record<string, string | number | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value !== undefined) search.set(key, String(value));
  return search.toString();
}

const STYLE = `
:root { color-scheme: light; --ink: #1d2430; --muted: #5b6474; --line: #d9dee7; --band: #f5f7fa; --accent: #2456a6; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: #fff; }
header { display: flex; align-items: baseline; gap: 24px; padding: 12px 24px; background: #1d2430; color: #fff; }
header .brand { font-weight: 700; font-size: 17px; letter-spacing: .02em; }
header .cluster { color: #aeb8c8; }
header nav a { color: #dfe6f1; margin-right: 18px; text-decoration: none; }
header nav a.here { color: #fff; border-bottom: 2px solid #7fa7e6; }
main { padding: 16px 24px 40px; max-width: 1280px; }
h1 { font-size: 20px; margin: 8px 0 12px; }
h2 { font-size: 16px; margin: 24px 0 8px; }
a { color: var(--accent); }
table { border-collapse: collapse; margin: 4px 0 8px; }
th, td { text-align: left; padding: 5px 12px 5px 0; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; font-size: 12px; text-transform: uppercase; letter-spacing: .03em; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; padding-left: 12px; }
.muted { color: var(--muted); }
.status { display: inline-block; padding: 0 7px; border-radius: 9px; font-size: 12px; font-weight: 600; }
.status-OK { background: #dff3e4; color: #1f6b35; }
.status-WARN { background: #fff1cc; color: #7a5300; }
.status-ERR, .status-STOP, .status-STALL, .status-REWIND { background: #fde0de; color: #9b1c13; }
.status-NOTFOUND { background: #eceff3; color: var(--muted); }
.chart { margin: 4px 0 12px; }
.chart svg { max-width: 100%; height: auto; }
.empty { color: var(--muted); font-style: italic; }
form.browse { display: flex; flex-wrap: wrap; gap: 10px 16px; align-items: end; padding: 10px 12px; background: var(--band); border: 1px solid var(--line); border-radius: 6px; }
form.browse label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); }
form.browse input, form.browse select { font: inherit; padding: 3px 6px; }
pre { margin: 0; white-space: pre-wrap; word-break: break-all; font: 12px/1.4 ui-monospace, "DejaVu Sans Mono", monospace; }
table.records td { max-width: 520px; }
table.records td.field { min-width: 160px; }
table.records div.header pre { display: inline; }
.note { color: var(--muted); font-size: 12px; }
details summary { cursor: pointer; color: var(--accent); }
tr.override td { background: #f3f7ff; }
.error { padding: 8px 12px; background: #fde0de; border-radius: 6px; color: #9b1c13; }
`;

export type Section = 'topics' | 'groups' | 'load';

export interface PageOptions {
  title: string;
  cluster: string;
  section: Section;
  /** Seconds before the browser reloads the page; omitted: it does not. */
  refreshSeconds?: number;
}

/** A whole page: header with the sections, the body, no script and nothing fetched from elsewhere. */
export function page(options: PageOptions, body: Html): Html {
  const link = (section: Section, href: string, label: string) => html`<a href="${href}" class="${section === options.section ? 'here' : ''}">${label}</a>`;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
${options.refreshSeconds === undefined ? '' : html`<meta http-equiv="refresh" content="${options.refreshSeconds}">`}
<link rel="icon" href="data:,">
<title>${options.title} · Sluice</title>
<style>${raw(STYLE)}</style>
</head>
<body>
<header><span class="brand">Sluice</span><span class="cluster">cluster ${options.cluster}</span>
<nav>${link('topics', '/', 'Topics')}${link('groups', '/groups', 'Consumer groups')}${link('load', '/load', 'Broker load')}</nav></header>
<main>
${body}
</main>
</body>
</html>
`;
}

export function status(text: string): Html {
  return html`<span class="status status-${text}">${text}</span>`;
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** A size to three figures in binary units: 1536 -> "1.5 KiB". */
export function formatSize(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(value < 10 ? 1 : 0)} ${BYTE_UNITS[unit]}`;
}

/** A time in ms as ISO 8601 UTC to the millisecond; negative times (none given) as "-". */
export function formatTime(ms: number): string {
  return ms < 0 ? '-' : new Date(ms).toISOString();
}
