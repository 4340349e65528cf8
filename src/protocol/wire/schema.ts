/**
 * Declarative message schemas, transcribed field by field from Apache Kafka's message definitions
 * (clients/src/main/resources/common/message/*.json), so each API module reads like its spec and
 * can be checked against it line by line.
 *
 * A field carries what the spec says about it: its type, the versions it exists in (`versions`),
 * the versions where it may be null (`nullable`), its default and whether it is tagged (`tag`, in
 * flexible versions only). Version strings use the spec's notation: "3+", "0-7", "5", "none".
 * Where the spec gives no default, the default is Kafka's for the type (0, "", false, empty).
 *
 * Schemas give two TypeScript types through inference: `Infer<S>` is what decoding returns (every
 * field present; fields absent from the decoded version hold their defaults) and `InferInput<S>`
 * is what encoding takes. Encoding may leave out a field that has a default, is tagged, or is
 * marked `optional` (throttle times, error messages: nothing to say is the normal case); any
 * other field the encoded version has must be given, so a forgotten error code or offset is an
 * error rather than a silent zero. Fields that only some versions have are optional in the type
 * and checked when encoding a version that has them.
 */
import { ZERO_UUID } from './uuid.js';

export interface VersionRange {
  readonly min: number;
  readonly max: number;
}

export const NO_VERSIONS: VersionRange = { min: 1, max: 0 };

/** Parses the spec's version notation: "3+", "0-7", "5" or "none". */
export function parseVersions(spec: string): VersionRange {
  if (spec === 'none') return NO_VERSIONS;
  const plus = /^(\d+)\+$/.exec(spec);
  if (plus) return { min: Number(plus[1]), max: Infinity };
  const range = /^(\d+)-(\d+)$/.exec(spec);
  if (range && Number(range[1]) <= Number(range[2])) return { min: Number(range[1]), max: Number(range[2]) };
  const single = /^(\d+)$/.exec(spec);
  if (single) return { min: Number(single[1]), max: Number(single[1]) };
  throw new RangeError(`version range "${spec}" is not of the form "N+", "N-M", "N" or "none"`);
}

export function inVersions(range: VersionRange, version: number): boolean {
  return version >= range.min && version <= range.max;
}

export type ScalarKind = 'int8' | 'int16' | 'int32' | 'int64' | 'bool' | 'uuid';
export type FieldKind = ScalarKind | 'string' | 'bytes' | 'records' | 'array' | 'struct';

/** The fields of a struct, in wire order (object key order is insertion order). */
export type StructSchema = { readonly [name: string]: FieldDef<unknown, unknown, boolean> };

/**
 * One field. `Out` is its decoded type, `In` what encoding accepts, `Optional` whether encoding
 * may omit it. The type parameters exist for inference only.
 */
export class FieldDef<Out, In, Optional extends boolean> {
  declare readonly _out: Out;
  declare readonly _in: In;
  declare readonly _optional: Optional;

  constructor(
    readonly kind: FieldKind,
    readonly versions: VersionRange,
    readonly nullableVersions: VersionRange,
    readonly tag: number | undefined,
    /** Encoding may leave it out and send the default: it has one, is tagged or is marked optional. */
    readonly optional: boolean,
    /** A fresh default value (arrays and structs must not be shared between messages). */
    readonly makeDefault: () => unknown,
    /** The element of an array, or undefined. */
    readonly element: FieldDef<unknown, unknown, boolean> | undefined,
    /** The fields of a struct, or of an array's struct elements, or undefined. */
    readonly fields: StructSchema | undefined,
  ) {}
}

type Simplify<T> = { [K in keyof T]: T[K] } & {};

/** What decoding a struct with these fields returns. */
export type Infer<S extends StructSchema> = Simplify<{ -readonly [K in keyof S]: S[K]['_out'] }>;

type OptionalKeys<S extends StructSchema> = { [K in keyof S]: S[K]['_optional'] extends true ? K : never }[keyof S];
type RequiredKeys<S extends StructSchema> = Exclude<keyof S, OptionalKeys<S>>;

/** What encoding a struct with these fields accepts. */
export type InferInput<S extends StructSchema> = Simplify<
  { -readonly [K in RequiredKeys<S>]: S[K]['_in'] } & { -readonly [K in OptionalKeys<S>]?: S[K]['_in'] }
>;

interface FieldOptions {
  /** Versions the field exists in; default "0+". */
  versions?: string;
  /** Versions in which the field may be null. */
  nullable?: string;
  /** Tag number: the field is a tagged field in every flexible version it exists in. */
  tag?: number;
  /** Encoding may leave the field out and send its default. */
  optional?: boolean;
}

interface ValueOptions<T> extends FieldOptions {
  default?: T;
}

type IsOptional<O> = O extends { default: unknown }
  ? true
  : O extends { tag: number }
    ? true
    : O extends { optional: true }
      ? true
      : O extends { versions: string }
        ? O['versions'] extends '0+'
          ? false
          : true
        : false;

type NullableIf<O, T> = O extends { nullable: string } ? T | null : T;

function define(
  kind: FieldKind,
  options: ValueOptions<unknown>,
  makeDefault: () => unknown,
  element?: FieldDef<unknown, unknown, boolean>,
  fields?: StructSchema,
): FieldDef<never, never, never> {
  const versions = parseVersions(options.versions ?? '0+');
  const nullableVersions = options.nullable === undefined ? NO_VERSIONS : parseVersions(options.nullable);
  if (options.tag !== undefined && !(Number.isInteger(options.tag) && options.tag >= 0)) {
    throw new RangeError(`tag must be a non-negative integer, got ${options.tag}`);
  }
  const optional = options.default !== undefined || options.tag !== undefined || options.optional === true;
  return new FieldDef(kind, versions, nullableVersions, options.tag, optional, makeDefault, element, fields);
}

function constant<T>(value: T): () => T {
  return () => value;
}

function scalar<T>(kind: ScalarKind, fallback: T) {
  return <const O extends ValueOptions<T> = Record<never, never>>(options?: O): FieldDef<T, T, IsOptional<O>> =>
    define(kind, options ?? {}, constant(options?.default ?? fallback));
}

export const int8 = scalar<number>('int8', 0);
export const int16 = scalar<number>('int16', 0);
export const int32 = scalar<number>('int32', 0);
/** Offsets, timestamps, producer ids: numbers, never bigint (see ../int64.ts). */
export const int64 = scalar<number>('int64', 0);
export const bool = scalar<boolean>('bool', false);
/** A uuid as Kafka prints it: 22 characters of URL-safe base64 (see ./uuid.ts). */
export const uuid = scalar<string>('uuid', ZERO_UUID);

export function string<const O extends ValueOptions<string | null> = Record<never, never>>(
  options?: O,
): FieldDef<NullableIf<O, string>, NullableIf<O, string>, IsOptional<O>> {
  const fallback = options?.default !== undefined ? options.default : '';
  return define('string', options ?? {}, constant(fallback));
}

const EMPTY = Buffer.alloc(0);

/** Bytes; decoded as a slice of the frame. */
export function bytes<const O extends FieldOptions = Record<never, never>>(
  options?: O,
): FieldDef<NullableIf<O, Buffer>, NullableIf<O, Buffer>, IsOptional<O>> {
  return define('bytes', options ?? {}, constant(EMPTY));
}

/** Record batches, nullable on the wire: decoded as a slice of the frame, encoded without a copy when large. */
export function records<const O extends FieldOptions = Record<never, never>>(
  options?: O,
): FieldDef<Buffer | null, Buffer | null, IsOptional<O>> {
  return define('records', { nullable: '0+', ...options }, constant(null));
}

type ElementOut<E> = E extends FieldDef<infer Out, unknown, boolean> ? Out : E extends StructSchema ? Infer<E> : never;
type ElementIn<E> = E extends FieldDef<unknown, infer In, boolean> ? In : E extends StructSchema ? InferInput<E> : never;

/** An array of a scalar field type (`int32()`) or of structs (a plain object of fields). */
export function array<E extends FieldDef<unknown, unknown, boolean> | StructSchema, const O extends FieldOptions = Record<never, never>>(
  element: E,
  options?: O,
): FieldDef<NullableIf<O, ElementOut<E>[]>, NullableIf<O, readonly ElementIn<E>[]>, IsOptional<O>> {
  if (element instanceof FieldDef) {
    if (element.kind === 'array' || element.kind === 'struct') {
      throw new TypeError('array elements are scalars, strings, bytes or a struct schema');
    }
    return define('array', options ?? {}, () => [], element);
  }
  return define('array', options ?? {}, () => [], undefined, element as StructSchema);
}

/** A single nested struct (the spec uses these for tagged fields such as CurrentLeader), nullable when told. */
export function struct<S extends StructSchema, const O extends FieldOptions = Record<never, never>>(
  fields: S,
  options?: O,
): FieldDef<NullableIf<O, Infer<S>>, NullableIf<O, InferInput<S>>, IsOptional<O>> {
  // A nullable struct defaults to null, as every nullable struct of Kafka's specs does.
  const makeDefault = options?.nullable !== undefined ? constant(null) : () => defaultStruct(fields);
  return define('struct', options ?? {}, makeDefault, undefined, fields);
}

/** A struct with every field at its default. */
function defaultStruct(fields: StructSchema): Record<string, unknown> {
  const value: Record<string, unknown> = {};
  for (const name of Object.keys(fields)) value[name] = fields[name].makeDefault();
  return value;
}
