/**
 * Kafka's transform predicates (KIP-585), under their class names and config names: a transform
 * with `transforms.<alias>.predicate=<name>` applies only to the records `predicates.<name>`
 * holds for (or, with `transforms.<alias>.negate=true`, does not hold for); the others pass it
 * unchanged.
 *
 *   predicates=isFoo
 *   predicates.isFoo.type=org.apache.kafka.connect.transforms.predicates.TopicNameMatches
 *   predicates.isFoo.pattern=foo.*
 */
import type { ConnectRecord, Props } from './api.js';
import { ConfigDef, nonEmptyString, validRegex } from './config-def.js';

export interface Predicate<R extends ConnectRecord = ConnectRecord> {
  configure(props: Props): void;
  test(record: R): boolean;
  config(): ConfigDef;
  close?(): void;
}

const PACKAGE = 'org.apache.kafka.connect.transforms.predicates';

/** True for records whose topic matches `pattern` entirely (Java's Matcher.matches()). */
export class TopicNameMatches implements Predicate {
  private pattern = /^$/;

  config(): ConfigDef {
    return new ConfigDef().define({
      name: 'pattern',
      type: 'STRING',
      importance: 'MEDIUM',
      validator: (name, value) => nonEmptyString(name, value) ?? validRegex(name, value),
      documentation: 'A Java regular expression for matching against the name of a record\'s topic.',
    });
  }

  configure(props: Props): void {
    const config = this.config().parse(props, 'TopicNameMatches configuration');
    this.pattern = new RegExp(`^(?:${config.pattern as string})$`);
  }

  test(record: ConnectRecord): boolean {
    return this.pattern.test(record.topic);
  }
}

/** True for records with at least one header named `name`. */
export class HasHeaderKey implements Predicate {
  private name = '';

  config(): ConfigDef {
    return new ConfigDef().define({ name: 'name', type: 'STRING', importance: 'MEDIUM', validator: nonEmptyString, documentation: 'The header name.' });
  }

  configure(props: Props): void {
    this.name = this.config().parse(props, 'HasHeaderKey configuration').name as string;
  }

  test(record: ConnectRecord): boolean {
    return record.headers.some((header) => header.key === this.name);
  }
}

/** True for tombstones: records whose value is null. */
export class RecordIsTombstone implements Predicate {
  config(): ConfigDef {
    return new ConfigDef();
  }

  configure(): void {}

  test(record: ConnectRecord): boolean {
    return record.value === null;
  }
}

export const BUILT_IN_PREDICATES: ReadonlyMap<string, new () => Predicate<never>> = new Map<string, new () => Predicate<never>>([
  [`${PACKAGE}.TopicNameMatches`, TopicNameMatches],
  [`${PACKAGE}.HasHeaderKey`, HasHeaderKey],
  [`${PACKAGE}.RecordIsTombstone`, RecordIsTombstone],
]);
