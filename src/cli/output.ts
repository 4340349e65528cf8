/**
 * What the CLI prints: results on stdout (aligned tables for people, `--json` for programs),
 * diagnostics on stderr, and every error as one line, `error: <message>`, with the stack only
 * when SLUICE_DEBUG=1.
 */
import type { BrokerLogger } from '../broker/config.js';

export type Cell = string | number | null;

/** Set SLUICE_DEBUG=1 to get stacks and client logs on stderr. */
export function debugEnabled(): boolean {
  return process.env.SLUICE_DEBUG === '1';
}

/** Writes to stdout and resolves once the text is handed to the OS, so a large output can't pile up in memory. */
export function writeOut(text: string | Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    process.stdout.write(text, (error) => (error ? reject(error) : resolve()));
  });
}

export function printJson(value: unknown): Promise<void> {
  return writeOut(`${JSON.stringify(value, null, 2)}\n`);
}

/** Columns padded to their widest cell; null prints as `-`, as Kafka's tools print unknown values. */
function formatTable(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const text = rows.map((row) => row.map((cell) => (cell === null ? '-' : String(cell))));
  const widths = headers.map((header, column) => Math.max(header.length, ...text.map((row) => row[column].length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column])))
      .join('  ')
      .trimEnd();
  return [line(headers), ...text.map(line)].join('\n') + '\n';
}

export function printTable(headers: readonly string[], rows: readonly (readonly Cell[])[]): Promise<void> {
  return writeOut(formatTable(headers, rows));
}

export function printError(message: string): void {
  process.stderr.write(`error: ${oneLine(message)}\n`);
}

export function printWarning(message: string): void {
  process.stderr.write(`warning: ${oneLine(message)}\n`);
}

export function printInfo(message: string): void {
  process.stderr.write(`${oneLine(message)}\n`);
}

/** The one line an error prints as; the stack follows under SLUICE_DEBUG=1. */
export function reportError(error: unknown): void {
  printError(errorMessage(error));
  if (debugEnabled() && error instanceof Error && error.stack !== undefined) process.stderr.write(`${error.stack}\n`);
}

/** An error's message, with the detail some client errors keep in nested errors. */
function errorMessage(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const nested = (error as { errors?: unknown }).errors;
  if (Array.isArray(nested) && nested.length > 0) {
    const details = nested.map((inner) => (inner instanceof Error ? inner.message : String(inner)));
    return `${error.message}: ${details.join('; ')}`;
  }
  return error.message;
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/** The broker's and server's log, on stderr: warnings always, information only when asked for. */
export function stderrLogger(options: { info: boolean }): BrokerLogger {
  return {
    info: options.info ? printInfo : () => {},
    warn: printWarning,
  };
}
