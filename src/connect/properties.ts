/**
 * Java .properties files (worker.properties, connector.properties), parsed by properties-file,
 * which follows java.util.Properties: comments, `=`, `:` or blank separators, line
 * continuations and escapes.
 */
import { readFileSync } from 'node:fs';
import { getProperties } from 'properties-file';
import { ConnectError } from '../errors.js';

export function readPropertiesFile(path: string): Record<string, string> {
  let content: Buffer;
  try {
    content = readFileSync(path);
  } catch (error) {
    throw new ConnectError(`cannot read properties file ${path}: ${(error as Error).message}`, { cause: error });
  }
  return parseProperties(content);
}

export function parseProperties(content: string | Buffer): Record<string, string> {
  return { ...getProperties(content) };
}
