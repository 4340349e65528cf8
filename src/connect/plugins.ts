/**
 * The plugins a worker knows, by class name and alias as Kafka Connect names them: the built-in
 * connectors, converters and transforms under their Kafka class names (so Kafka's own
 * connector.properties files work unchanged), and those exported by the npm packages listed in
 * `plugin.path`, under `<package>/<export>` and the export's name.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConnectError } from '../errors.js';
import { SinkConnector, SourceConnector } from './api.js';
import { AvroConverter } from './avro-converter.js';
import { ByteArrayConverter, JsonConverter, SimpleHeaderConverter, StringConverter, type Converter } from './converters.js';
import { FileStreamSinkConnector, FileStreamSourceConnector } from './file-stream.js';
import { BUILT_IN_PREDICATES, type Predicate } from './predicates.js';
import type { Transformation } from './transforms.js';
import { BUILT_IN_TRANSFORMS } from './transforms-builtin.js';

export type PluginType = 'source' | 'sink' | 'converter' | 'transformation' | 'predicate';
type AnyConnector = SourceConnector | SinkConnector;

export interface PluginDescriptor {
  readonly className: string;
  readonly type: PluginType;
  readonly version: string;
  readonly aliases: readonly string[];
  readonly create: () => AnyConnector | Converter | Transformation<never> | Predicate<never>;
}

/** Kafka's alias rule: the simple class name, and for connectors also without the "Connector" suffix. */
function aliasesOf(className: string, type: PluginType): string[] {
  const simple = className.slice(className.lastIndexOf('.') + 1).replace(/^.*\//, '');
  const aliases = [simple];
  if ((type === 'source' || type === 'sink') && simple.endsWith('Connector') && simple !== 'Connector') aliases.push(simple.slice(0, -'Connector'.length));
  return aliases.filter((alias) => alias !== className);
}

function typeOfClass(candidate: unknown): PluginType | null {
  if (typeof candidate !== 'function' || candidate.prototype === undefined) return null;
  const prototype = candidate.prototype as Record<string, unknown>;
  if (prototype instanceof SourceConnector) return 'source';
  if (prototype instanceof SinkConnector) return 'sink';
  if (typeof prototype.fromConnectData === 'function' && typeof prototype.toConnectData === 'function') return 'converter';
  if (typeof prototype.apply === 'function' && typeof prototype.configure === 'function' && typeof prototype.config === 'function') return 'transformation';
  if (typeof prototype.test === 'function' && typeof prototype.configure === 'function' && typeof prototype.config === 'function') return 'predicate';
  return null;
}

export class Plugins {
  private readonly byName = new Map<string, PluginDescriptor>();
  private readonly all: PluginDescriptor[] = [];

  constructor() {
    this.add('org.apache.kafka.connect.file.FileStreamSourceConnector', FileStreamSourceConnector);
    this.add('org.apache.kafka.connect.file.FileStreamSinkConnector', FileStreamSinkConnector);
    this.add('org.apache.kafka.connect.storage.StringConverter', StringConverter);
    this.add('org.apache.kafka.connect.converters.ByteArrayConverter', ByteArrayConverter);
    this.add('org.apache.kafka.connect.json.JsonConverter', JsonConverter);
    this.add('org.apache.kafka.connect.storage.SimpleHeaderConverter', SimpleHeaderConverter);
    this.add('io.confluent.connect.avro.AvroConverter', AvroConverter);
    for (const [className, transform] of BUILT_IN_TRANSFORMS) this.add(className, transform);
    for (const [className, predicate] of BUILT_IN_PREDICATES) this.add(className, predicate);
  }

  /**
   * Imports each npm package (resolved from `baseDir`, the worker's directory) and adds every
   * exported connector, converter, transform and predicate class.
   */
  async load(packages: readonly string[], baseDir: string): Promise<void> {
    const require = createRequire(join(baseDir, 'noop.js'));
    for (const name of packages) {
      let resolved: string;
      try {
        resolved = require.resolve(name);
      } catch (error) {
        throw new ConnectError(`plugin.path names npm package "${name}", which cannot be found from ${baseDir}; install it there (npm install ${name})`, { cause: error });
      }
      const module = (await import(pathToFileURL(resolved).href)) as Record<string, unknown>;
      let found = 0;
      for (const [exportName, candidate] of Object.entries(module)) {
        if (exportName === 'default' || typeOfClass(candidate) === null) continue;
        this.add(`${name}/${exportName}`, candidate as new () => never);
        found += 1;
      }
      if (found === 0) throw new ConnectError(`plugin package "${name}" exports no connector, converter, transform or predicate class (subclasses of SourceConnector or SinkConnector, Converter, Transformation or Predicate implementations)`);
    }
  }

  private add(className: string, plugin: new () => AnyConnector | Converter | Transformation<never> | Predicate<never>): void {
    const type = typeOfClass(plugin)!;
    const instance = new plugin() as { version?: () => string };
    const descriptor: PluginDescriptor = {
      className,
      type,
      version: typeof instance.version === 'function' ? instance.version() : 'undefined',
      aliases: aliasesOf(className, type),
      create: () => new plugin(),
    };
    this.all.push(descriptor);
    this.byName.set(className, descriptor);
    for (const alias of descriptor.aliases) if (!this.byName.has(alias)) this.byName.set(alias, descriptor);
  }

  descriptors(): readonly PluginDescriptor[] {
    return this.all;
  }

  find(name: string): PluginDescriptor | undefined {
    return this.byName.get(name);
  }

  /** The connector plugin of that class name or alias; throws Kafka's message naming those there are. */
  connector(name: string): PluginDescriptor {
    const found = this.byName.get(name);
    if (found !== undefined && (found.type === 'source' || found.type === 'sink')) return found;
    const available = this.all.filter((plugin) => plugin.type === 'source' || plugin.type === 'sink').map((plugin) => plugin.className);
    throw new ConnectError(`Failed to find any class that implements Connector and which name matches ${name}, available connectors are: ${available.join(', ')}`);
  }

  newConnector(name: string): AnyConnector {
    return this.connector(name).create() as AnyConnector;
  }

  newConverter(name: string): Converter {
    const found = this.byName.get(name);
    if (found?.type !== 'converter') throw new ConnectError(`Class ${name} could not be found, or is not a Converter`);
    return found.create() as Converter;
  }

  newTransformation(name: string): Transformation<never> {
    const found = this.byName.get(name);
    if (found?.type !== 'transformation') throw new ConnectError(`Class ${name} could not be found, or is not a Transformation`);
    return found.create() as Transformation<never>;
  }

  newPredicate(name: string): Predicate<never> {
    const found = this.byName.get(name);
    if (found?.type !== 'predicate') throw new ConnectError(`Class ${name} could not be found, or is not a Predicate`);
    return found.create() as Predicate<never>;
  }
}
