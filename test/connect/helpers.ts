/** Shared by the Connect tests: input files of numbered lines and the worker settings they run with. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Line i of an input file: varied lengths and a non-ASCII character, so byte positions differ from character counts. */
export function inputLine(i: number): string {
  return `line ${i} ${'é'.repeat(i % 7)}${'x'.repeat(i % 13)}`;
}

export function writeInput(path: string, lines: number): string[] {
  const all = Array.from({ length: lines }, (_, i) => inputLine(i));
  writeFileSync(path, `${all.join('\n')}\n`);
  return all;
}

/** The lines of a file, without the empty string after the last newline; [] if it does not exist. */
export function fileLines(path: string): string[] {
  if (!existsSync(path)) return [];
  const text = readFileSync(path, 'utf8');
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

export function stringConverterProps(dir: string): Record<string, string> {
  return {
    'data.dir': join(dir, 'data'),
    'offset.storage.file.filename': join(dir, 'connect.offsets'),
    'offset.flush.interval.ms': '200',
    listeners: 'http://127.0.0.1:0',
    'key.converter': 'org.apache.kafka.connect.storage.StringConverter',
    'value.converter': 'org.apache.kafka.connect.storage.StringConverter',
  };
}

export function toProperties(props: Record<string, string>): string {
  return Object.entries(props)
    .map(([name, value]) => `${name}=${value.replace(/\\/g, '\\\\')}`)
    .join('\n');
}
