/**
 * Parsers for command-line values. Each turns the text of one flag into a checked value or throws
 * commander's InvalidArgumentError, whose message commander prints as one line naming the flag,
 * and which the CLI turns into exit code 2 (a usage error).
 */
import { InvalidArgumentError } from 'commander';
import { InvalidRequestError } from '../errors.js';

/** An integer from `min` to `max`, written in decimal. */
export function integerArg(min: number, max: number = Number.MAX_SAFE_INTEGER): (text: string) => number {
  return (text) => {
    const value = /^-?\d+$/.test(text.trim()) ? Number(text) : NaN;
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
      throw new InvalidArgumentError(`expected an integer ${range}, got "${text}"`);
    }
    return value;
  };
}

/** `true` or `false`, as Kafka writes its boolean settings. */
export function booleanArg(text: string): boolean {
  if (text === 'true') return true;
  if (text === 'false') return false;
  throw new InvalidArgumentError(`expected true or false, got "${text}"`);
}

/** Repeatable `name=value`; collects into a record, refusing the same name twice. */
export function configArg(text: string, previous: Record<string, string> | undefined): Record<string, string> {
  const equals = text.indexOf('=');
  if (equals <= 0) throw new InvalidArgumentError(`expected name=value (for example retention.ms=86400000), got "${text}"`);
  const name = text.slice(0, equals);
  const configs = { ...previous };
  if (Object.hasOwn(configs, name)) throw new InvalidArgumentError(`config "${name}" is given twice`);
  configs[name] = text.slice(equals + 1);
  return configs;
}

export interface HostPort {
  host: string;
  port: number;
}

/** `host:port`; an IPv6 address goes in brackets, `[::1]:9092`. */
export function hostPortArg(text: string): HostPort {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  const port = match === null ? NaN : Number(match[3]);
  if (match === null || port < 1 || port > 65_535) {
    throw new InvalidArgumentError(`expected host:port with a port from 1 to 65535 (for example 127.0.0.1:9092), got "${text}"`);
  }
  return { host: match[1] ?? match[2], port };
}

/** Writes an address the way hostPortArg reads it back. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * A separator between key and value. `\t` and `\n` written as two characters stand for tab and
 * newline, since a literal tab is awkward to type on a command line.
 */
export function separatorArg(text: string): string {
  const separator = text.replace(/\\t/g, '\t').replace(/\\n/g, '\n');
  if (separator.length === 0) throw new InvalidArgumentError('the separator must not be empty');
  if (separator.includes('\n')) throw new InvalidArgumentError('the separator must not contain a newline: records are one per line');
  return separator;
}

export type OffsetArg = number | 'earliest' | 'latest';

/** An offset (integer >= 0), or `earliest` / `latest`. */
export function offsetArg(text: string): OffsetArg {
  if (text === 'earliest' || text === 'latest') return text;
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new InvalidArgumentError(`expected an offset (an integer >= 0), earliest or latest, got "${text}"`);
  }
  return Number(text);
}

/** --delete-config's collector: each use adds a name. */
export function configNameArg(name: string, previous: string[] = []): string[] {
  return [...previous, name];
}

/**
 * The change that --add-config and --delete-config describe (kafka-configs.sh's flags), checked:
 * at least one of them, and no config in both.
 */
export function configChangeOf(flags: { addConfig?: Record<string, string>; deleteConfig?: string[] }): { set: Record<string, string>; remove: string[] } {
  const set = flags.addConfig ?? {};
  const remove = flags.deleteConfig ?? [];
  if (Object.keys(set).length === 0 && remove.length === 0) {
    throw new InvalidRequestError('nothing to change: give --add-config name=value and/or --delete-config name');
  }
  const both = remove.filter((config) => Object.hasOwn(set, config));
  if (both.length > 0) throw new InvalidRequestError(`config ${both.join(', ')} is both added and deleted; give it once`);
  return { set, remove };
}
