/**
 * Kafka's ConfigDef: the definitions of a connector's (or converter's, transform's) settings,
 * each with a type, a default or none (required), an importance and its documentation. `parse`
 * turns string properties into typed values or throws naming every problem; `validate` reports
 * each setting's problems, which the REST API answers in Kafka Connect's ConfigInfos shape.
 */
import { ConnectError } from '../errors.js';

export type ConfigType = 'BOOLEAN' | 'STRING' | 'INT' | 'SHORT' | 'LONG' | 'DOUBLE' | 'LIST' | 'CLASS' | 'PASSWORD';
export type Importance = 'HIGH' | 'MEDIUM' | 'LOW';
export type ConfigValueType = string | number | boolean | string[] | null;

/** Checks a parsed value; returns the problem (Kafka's ConfigException message after the colon) or null. */
export type ConfigValidator = (name: string, value: ConfigValueType) => string | null;

export interface ConfigKey {
  readonly name: string;
  readonly type: ConfigType;
  /** Absent: the setting is required. null: optional, no value unless given. */
  readonly defaultValue?: ConfigValueType;
  readonly importance: Importance;
  readonly documentation: string;
  readonly group?: string;
  readonly orderInGroup?: number;
  readonly displayName?: string;
  readonly validator?: ConfigValidator;
  /** Values a user may pick from, listed by the validate endpoint. */
  readonly recommendedValues?: readonly string[];
}

/** One setting as validated: its value as given and its problems. */
export interface ConfigValue {
  readonly name: string;
  readonly value: string | null;
  readonly errors: string[];
}

/** Kafka Connect's ConfigInfos as the validate endpoint answers it. */
export interface ConfigInfos {
  name: string;
  error_count: number;
  groups: string[];
  configs: {
    definition: {
      name: string;
      type: ConfigType;
      required: boolean;
      default_value: string | null;
      importance: Importance;
      documentation: string;
      group: string | null;
      width: 'NONE';
      display_name: string;
      dependents: string[];
      order: number;
    };
    value: { name: string; value: string | null; recommended_values: string[]; errors: string[]; visible: boolean };
  }[];
}

export type ParsedConfig = Record<string, ConfigValueType>;

export class ConfigDef {
  private readonly keys = new Map<string, ConfigKey>();

  define(key: ConfigKey): this {
    if (this.keys.has(key.name)) throw new ConnectError(`configuration ${key.name} is defined twice`);
    this.keys.set(key.name, key);
    return this;
  }

  /** Every definition of `other` added to this one (Kafka's ConfigDef(ConfigDef base)). */
  merge(other: ConfigDef): this {
    for (const key of other.configKeys()) if (!this.keys.has(key.name)) this.define(key);
    return this;
  }

  configKeys(): ConfigKey[] {
    return [...this.keys.values()];
  }

  has(name: string): boolean {
    return this.keys.has(name);
  }

  /** Each defined setting with its problems, in definition order. */
  validate(props: Readonly<Record<string, string>>): ConfigValue[] {
    return this.configKeys().map((key) => {
      const raw = props[key.name];
      const errors: string[] = [];
      const parsed = parseOne(key, raw, errors);
      if (errors.length === 0 && key.validator !== undefined && parsed !== undefined) {
        const problem = key.validator(key.name, parsed);
        if (problem !== null) errors.push(`Invalid value ${String(raw ?? key.defaultValue)} for configuration ${key.name}: ${problem}`);
      }
      return { name: key.name, value: raw ?? null, errors };
    });
  }

  /** Typed values of every defined setting (defaults filled in); throws a ConnectError listing every problem. */
  parse(props: Readonly<Record<string, string>>, what = 'configuration'): ParsedConfig {
    const problems = this.validate(props).flatMap((value) => value.errors);
    if (problems.length > 0) {
      throw new ConnectError(`${what} is invalid and contains the following ${problems.length} error(s):\n${problems.join('\n')}`);
    }
    const out: ParsedConfig = {};
    for (const key of this.configKeys()) out[key.name] = parseOne(key, props[key.name], [])!;
    return out;
  }

  /** Kafka Connect's ConfigInfos for these definitions and values. */
  configInfos(name: string, values: readonly ConfigValue[]): ConfigInfos {
    const byName = new Map(values.map((value) => [value.name, value]));
    const groups: string[] = [];
    const configs = this.configKeys().map((key) => {
      if (key.group !== undefined && !groups.includes(key.group)) groups.push(key.group);
      const value = byName.get(key.name) ?? { name: key.name, value: null, errors: [] };
      return {
        definition: {
          name: key.name,
          type: key.type,
          required: key.defaultValue === undefined,
          default_value: key.defaultValue === undefined || key.defaultValue === null ? null : formatValue(key.defaultValue),
          importance: key.importance,
          documentation: key.documentation,
          group: key.group ?? null,
          width: 'NONE' as const,
          display_name: key.displayName ?? key.name,
          dependents: [],
          order: key.orderInGroup ?? -1,
        },
        value: {
          name: key.name,
          value: key.type === 'PASSWORD' && value.value !== null ? '[hidden]' : value.value,
          recommended_values: [...(key.recommendedValues ?? [])],
          errors: value.errors,
          visible: true,
        },
      };
    });
    return { name, error_count: configs.reduce((sum, config) => sum + config.value.errors.length, 0), groups, configs };
  }
}

function formatValue(value: ConfigValueType): string {
  return Array.isArray(value) ? value.join(',') : String(value);
}

const INT_RANGES: Partial<Record<ConfigType, readonly [number, number]>> = {
  SHORT: [-32_768, 32_767],
  INT: [-2_147_483_648, 2_147_483_647],
  LONG: [Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER],
};

/** The typed value of one setting (its default when absent); pushes ConfigException messages onto `errors`. */
function parseOne(key: ConfigKey, raw: string | undefined, errors: string[]): ConfigValueType | undefined {
  if (raw === undefined) {
    if (key.defaultValue === undefined) {
      errors.push(`Missing required configuration "${key.name}" which has no default value.`);
      return undefined;
    }
    return key.defaultValue;
  }
  const invalid = (why: string): undefined => {
    errors.push(`Invalid value ${raw} for configuration ${key.name}: ${why}`);
    return undefined;
  };
  const text = raw.trim();
  switch (key.type) {
    case 'STRING':
    case 'CLASS':
    case 'PASSWORD':
      return key.type === 'STRING' ? raw : text;
    case 'BOOLEAN':
      if (text.toLowerCase() === 'true') return true;
      if (text.toLowerCase() === 'false') return false;
      return invalid('Expected value to be either true or false');
    case 'SHORT':
    case 'INT':
    case 'LONG': {
      const [min, max] = INT_RANGES[key.type]!;
      const number = Number(text);
      if (!/^[-+]?\d+$/.test(text) || number < min || number > max) return invalid(`Not a number of type ${key.type}`);
      return number;
    }
    case 'DOUBLE': {
      const number = Number(text);
      if (text === '' || !Number.isFinite(number)) return invalid('Not a number of type DOUBLE');
      return number;
    }
    case 'LIST':
      return text === '' ? [] : text.split(/\s*,\s*/);
  }
}

/** Kafka's ConfigDef.Range.atLeast. */
export function atLeast(min: number): ConfigValidator {
  return (_name, value) => (typeof value === 'number' && value < min ? `Value must be at least ${min}` : null);
}

/** Kafka's ConfigDef.ValidString.in. */
export function oneOf(...allowed: string[]): ConfigValidator {
  return (_name, value) => (value !== null && !allowed.includes(String(value)) ? `String must be one of: ${allowed.join(', ')}` : null);
}

/** Kafka's NonEmptyString. */
/** A JavaScript regular expression (Kafka's RegexValidator, for Java's). */
export const validRegex: ConfigValidator = (_name, value) => {
  try {
    new RegExp(String(value));
    return null;
  } catch (error) {
    return (error as Error).message;
  }
};

export const nonEmptyString: ConfigValidator = (_name, value) => (value === null || String(value).trim() === '' ? 'String must be non-empty' : null);
