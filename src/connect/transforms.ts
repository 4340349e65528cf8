/**
 * Single message transforms (SMTs), configured as Kafka Connect's:
 *
 *   transforms=addSource,route
 *   transforms.addSource.type=org.apache.kafka.connect.transforms.InsertField$Value
 *   transforms.addSource.static.field=source
 *
 * Each transform maps a record to a new one, or to null to drop it; the chain applies them in
 * the listed order, to source records before conversion and to sink records after it.
 */
import { ConnectError } from '../errors.js';
import type { ConnectRecord, Props } from './api.js';
import type { ConfigDef } from './config-def.js';

export interface Transformation<R extends ConnectRecord = ConnectRecord> {
  configure(props: Props): void;
  /** The transformed record, or null to drop it. */
  apply(record: R): R | null;
  config(): ConfigDef;
  close?(): void;
}

export const TRANSFORMS_CONFIG = 'transforms';

export interface TransformChain {
  /** `entering`: told each transform's class before it runs, so a failure names it. */
  apply<R extends ConnectRecord>(record: R, entering?: (className: string) => void): R | null;
  close(): void;
}

/** The names listed in `transforms`, in order. */
export function transformAliases(connectorConfig: Props): string[] {
  const list = connectorConfig[TRANSFORMS_CONFIG]?.trim() ?? '';
  if (list === '') return [];
  const aliases = list.split(/\s*,\s*/);
  const duplicate = aliases.find((alias, index) => aliases.indexOf(alias) !== index);
  if (duplicate !== undefined) throw new ConnectError(`Duplicate alias provided: ${duplicate} in ${TRANSFORMS_CONFIG}`);
  return aliases;
}

/** The `transforms.<alias>.` settings of one transform, without that prefix. */
export function transformProps(connectorConfig: Props, alias: string): Record<string, string> {
  const prefix = `${TRANSFORMS_CONFIG}.${alias}.`;
  const props: Record<string, string> = {};
  for (const [name, value] of Object.entries(connectorConfig)) if (name.startsWith(prefix)) props[name.slice(prefix.length)] = value;
  return props;
}

/** Builds and configures the chain of a connector's config; `create` makes a transform from its class name. */
export function buildTransformChain(connectorConfig: Props, create: (className: string) => Transformation<never>): TransformChain {
  const transforms = transformAliases(connectorConfig).map((alias) => {
    const props = transformProps(connectorConfig, alias);
    const className = props.type;
    if (className === undefined || className === '') throw new ConnectError(`Missing required configuration "transforms.${alias}.type" which has no default value.`);
    const transform = create(className) as Transformation<ConnectRecord>;
    try {
      transform.configure(props);
    } catch (error) {
      throw new ConnectError(`Invalid configuration of transform ${alias} (${className}): ${(error as Error).message}`, { cause: error });
    }
    return { transform, className };
  });
  return {
    apply<R extends ConnectRecord>(record: R, entering?: (className: string) => void): R | null {
      let current: ConnectRecord | null = record;
      for (const { transform, className } of transforms) {
        entering?.(className);
        current = transform.apply(current);
        if (current === null) return null;
      }
      return current as R;
    },
    close() {
      for (const { transform } of transforms) transform.close?.();
    },
  };
}
