/**
 * Single message transforms (SMTs), configured as Kafka Connect's:
 *
 *   transforms=addSource,route
 *   transforms.addSource.type=org.apache.kafka.connect.transforms.InsertField$Value
 *   transforms.addSource.static.field=source
 *
 * Each transform maps a record to a new one, or to null to drop it; the chain applies them in
 * the listed order, to source records before conversion and to sink records after it. A
 * transform may be conditional on a predicate (KIP-585, see predicates.ts):
 *
 *   transforms.route.predicate=isFoo
 *   transforms.route.negate=false
 */
import { ConnectError } from '../errors.js';
import type { ConnectRecord, Props } from './api.js';
import type { ConfigDef } from './config-def.js';
import type { Predicate } from './predicates.js';

export interface Transformation<R extends ConnectRecord = ConnectRecord> {
  configure(props: Props): void;
  /** The transformed record, or null to drop it. */
  apply(record: R): R | null;
  config(): ConfigDef;
  close?(): void;
}

export const TRANSFORMS_CONFIG = 'transforms';
export const PREDICATES_CONFIG = 'predicates';
/** The settings every transform has implicitly (KIP-585); they are not passed to the transform. */
export const PREDICATE_CONFIG = 'predicate';
export const NEGATE_CONFIG = 'negate';

export interface TransformChain {
  /** `entering`: told each transform's class before it runs, so a failure names it. */
  apply<R extends ConnectRecord>(record: R, entering?: (className: string) => void): R | null;
  close(): void;
}

/** The names listed in `transforms` (or `predicates`), in order. */
export function transformAliases(connectorConfig: Props, listConfig: typeof TRANSFORMS_CONFIG | typeof PREDICATES_CONFIG = TRANSFORMS_CONFIG): string[] {
  const list = connectorConfig[listConfig]?.trim() ?? '';
  if (list === '') return [];
  const aliases = list.split(/\s*,\s*/);
  const duplicate = aliases.find((alias, index) => aliases.indexOf(alias) !== index);
  if (duplicate !== undefined) throw new ConnectError(`Duplicate alias provided: ${duplicate} in ${listConfig}`);
  return aliases;
}

/** The `transforms.<alias>.` (or `predicates.<alias>.`) settings of one, without that prefix. */
export function transformProps(connectorConfig: Props, alias: string, listConfig: typeof TRANSFORMS_CONFIG | typeof PREDICATES_CONFIG = TRANSFORMS_CONFIG): Record<string, string> {
  const prefix = `${listConfig}.${alias}.`;
  const props: Record<string, string> = {};
  for (const [name, value] of Object.entries(connectorConfig)) if (name.startsWith(prefix)) props[name.slice(prefix.length)] = value;
  return props;
}

/**
 * The predicate alias and negation of a transform, checked as Kafka checks them: negate needs a
 * predicate, and the predicate must be one listed in `predicates`.
 */
export function transformPredicate(connectorConfig: Props, alias: string): { predicate: string | null; negate: boolean } {
  const props = transformProps(connectorConfig, alias);
  const predicate = props[PREDICATE_CONFIG]?.trim() ?? '';
  const negate = props[NEGATE_CONFIG]?.trim().toLowerCase();
  const prefix = `${TRANSFORMS_CONFIG}.${alias}.`;
  if (negate !== undefined && predicate === '') {
    throw new ConnectError(`Config '${prefix}${NEGATE_CONFIG}' was provided but there is no config '${prefix}${PREDICATE_CONFIG}' defining a predicate to be negated.`);
  }
  if (negate !== undefined && negate !== 'true' && negate !== 'false') throw new ConnectError(`Invalid value ${props[NEGATE_CONFIG]} for configuration ${prefix}${NEGATE_CONFIG}: Expected value to be either true or false`);
  if (predicate !== '' && !transformAliases(connectorConfig, PREDICATES_CONFIG).includes(predicate)) {
    throw new ConnectError(`Invalid value ${predicate} for configuration ${prefix}${PREDICATE_CONFIG}: the predicate is not listed in ${PREDICATES_CONFIG}`);
  }
  return { predicate: predicate === '' ? null : predicate, negate: negate === 'true' };
}

function configured<T extends { configure(props: Props): void }>(what: string, className: string, props: Props, plugin: T): T {
  try {
    plugin.configure(props);
  } catch (error) {
    throw new ConnectError(`Invalid configuration of ${what} (${className}): ${(error as Error).message}`, { cause: error });
  }
  return plugin;
}

/**
 * Builds and configures the chain of a connector's config; `create` and `createPredicate` make a
 * transform and a predicate from a class name.
 */
export function buildTransformChain(connectorConfig: Props, create: (className: string) => Transformation<never>, createPredicate: (className: string) => Predicate<never>): TransformChain {
  const predicates = new Map<string, Predicate<ConnectRecord>>();
  for (const alias of transformAliases(connectorConfig, PREDICATES_CONFIG)) {
    const props = transformProps(connectorConfig, alias, PREDICATES_CONFIG);
    const className = props.type;
    if (className === undefined || className === '') throw new ConnectError(`Missing required configuration "${PREDICATES_CONFIG}.${alias}.type" which has no default value.`);
    predicates.set(alias, configured(`predicate ${alias}`, className, props, createPredicate(className) as Predicate<ConnectRecord>));
  }
  const transforms = transformAliases(connectorConfig).map((alias) => {
    const { [PREDICATE_CONFIG]: _predicate, [NEGATE_CONFIG]: _negate, ...props } = transformProps(connectorConfig, alias);
    const className = props.type;
    if (className === undefined || className === '') throw new ConnectError(`Missing required configuration "transforms.${alias}.type" which has no default value.`);
    const { predicate, negate } = transformPredicate(connectorConfig, alias);
    const transform = configured(`transform ${alias}`, className, props, create(className) as Transformation<ConnectRecord>);
    return { transform, className, predicate: predicate === null ? null : predicates.get(predicate)!, negate };
  });
  return {
    apply<R extends ConnectRecord>(record: R, entering?: (className: string) => void): R | null {
      let current: ConnectRecord | null = record;
      for (const { transform, className, predicate, negate } of transforms) {
        // A transform with a predicate applies where the predicate holds (fails, when negated).
        if (predicate !== null && predicate.test(current) === negate) continue;
        entering?.(className);
        current = transform.apply(current);
        if (current === null) return null;
      }
      return current as R;
    },
    close() {
      for (const { transform } of transforms) transform.close?.();
      for (const predicate of predicates.values()) predicate.close?.();
    },
  };
}
