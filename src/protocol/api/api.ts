/**
 * What every API module declares (in the style of kafkajs's and @platformatic/kafka's per-API
 * modules): its key, the versions Sluice serves, the first flexible version, and the request and
 * response schemas transcribed from Kafka's message definitions. From those it gets the four
 * codecs: decodeRequest / encodeResponse for the broker, encodeRequest / decodeResponse for
 * clients and tests.
 *
 * Bodies only: headers and size prefixes are ./registry.ts's job.
 */
import { UnsupportedVersionError } from '../../errors.js';
import { MessageCodec } from '../wire/codec.js';
import { Reader } from '../wire/reader.js';
import { NO_VERSIONS, type Infer, type InferInput, type StructSchema } from '../wire/schema.js';
import { Writer } from '../wire/writer.js';

export interface ApiDefinition<Req extends StructSchema, Res extends StructSchema, Key extends number> {
  /** Kafka's name for the API, as in ApiKeys.java ("Metadata", "Produce"). */
  readonly name: string;
  readonly apiKey: Key;
  /** The versions Sluice serves; a subset of those Kafka defines. */
  readonly minVersion: number;
  readonly maxVersion: number;
  /** The first version using flexible encoding (KIP-482), or null if none does. */
  readonly firstFlexibleVersion: number | null;
  readonly request: Req;
  readonly response: Res;
}

export class Api<Req extends StructSchema, Res extends StructSchema, Key extends number = number> {
  readonly name: string;
  readonly apiKey: Key;
  readonly minVersion: number;
  readonly maxVersion: number;
  readonly firstFlexibleVersion: number | null;
  /** The schemas, for tools that walk the fields (documentation, generic tests). */
  readonly requestSchema: Req;
  readonly responseSchema: Res;
  private readonly requestCodec: MessageCodec<Req>;
  private readonly responseCodec: MessageCodec<Res>;

  constructor(definition: ApiDefinition<Req, Res, Key>) {
    const { name, apiKey, minVersion, maxVersion, firstFlexibleVersion } = definition;
    if (!(Number.isInteger(minVersion) && Number.isInteger(maxVersion) && minVersion >= 0 && minVersion <= maxVersion)) {
      throw new RangeError(`${name}: version range ${minVersion}-${maxVersion} is not valid`);
    }
    this.name = name;
    this.apiKey = apiKey;
    this.minVersion = minVersion;
    this.maxVersion = maxVersion;
    this.firstFlexibleVersion = firstFlexibleVersion;
    this.requestSchema = definition.request;
    this.responseSchema = definition.response;
    const valid = { min: minVersion, max: maxVersion };
    const flexible = firstFlexibleVersion === null ? NO_VERSIONS : { min: firstFlexibleVersion, max: Infinity };
    this.requestCodec = new MessageCodec(`${name}Request`, definition.request, valid, flexible);
    this.responseCodec = new MessageCodec(`${name}Response`, definition.response, valid, flexible);
  }

  supports(version: number): boolean {
    return Number.isInteger(version) && version >= this.minVersion && version <= this.maxVersion;
  }

  isFlexible(version: number): boolean {
    return this.firstFlexibleVersion !== null && version >= this.firstFlexibleVersion;
  }

  /** Throws UnsupportedVersionError unless Sluice serves `version` of this API. */
  checkVersion(version: number): void {
    if (!this.supports(version)) {
      throw new UnsupportedVersionError({
        apiKey: this.apiKey,
        apiVersion: version,
        apiName: this.name,
        minVersion: this.minVersion,
        maxVersion: this.maxVersion,
      });
    }
  }

  decodeRequest(reader: Reader, version: number): Infer<Req> {
    this.checkVersion(version);
    return this.requestCodec.read(reader, version);
  }

  encodeRequest(writer: Writer, version: number, body: InferInput<Req>): void {
    this.checkVersion(version);
    this.requestCodec.write(writer, version, body);
  }

  decodeResponse(reader: Reader, version: number): Infer<Res> {
    this.checkVersion(version);
    return this.responseCodec.read(reader, version);
  }

  encodeResponse(writer: Writer, version: number, body: InferInput<Res>): void {
    this.checkVersion(version);
    this.responseCodec.write(writer, version, body);
  }
}

/** Any API module, whatever its schemas. */
export type AnyApi = Api<any, any, number>;

export type RequestOf<A> = A extends Api<infer Req, infer _Res, infer _Key> ? Infer<Req> : never;
export type RequestInputOf<A> = A extends Api<infer Req, infer _Res, infer _Key> ? InferInput<Req> : never;
export type ResponseOf<A> = A extends Api<infer _Req, infer Res, infer _Key> ? Infer<Res> : never;
export type ResponseInputOf<A> = A extends Api<infer _Req, infer Res, infer _Key> ? InferInput<Res> : never;
