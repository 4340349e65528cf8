/**
 * A connector's key, value and header converters: the connector's `key.converter` /
 * `value.converter` / `header.converter` when set, else the worker's, each configured with its
 * `<which>.converter.*` settings (the connector's over the worker's).
 */
import type { Props } from './api.js';
import type { Converter } from './converters.js';
import type { Plugins } from './plugins.js';
import { withPrefix } from './worker-config.js';

export interface ConverterSet {
  readonly key: Converter;
  readonly value: Converter;
  readonly header: Converter;
}

export const SIMPLE_HEADER_CONVERTER = 'org.apache.kafka.connect.storage.SimpleHeaderConverter';

export async function connectorConverters(plugins: Plugins, workerProps: Props, connectorProps: Props, defaults: { key: string; value: string; header: string }): Promise<ConverterSet> {
  const make = async (which: 'key' | 'value' | 'header'): Promise<Converter> => {
    const property = `${which}.converter`;
    const own = connectorProps[property];
    const className = own ?? workerProps[property] ?? defaults[which];
    const converter = plugins.newConverter(className);
    // The connector's own converter takes only its settings; the worker's takes the worker's, then the connector's.
    const settings = own === undefined ? { ...withPrefix(workerProps, `${property}.`), ...withPrefix(connectorProps, `${property}.`) } : withPrefix(connectorProps, `${property}.`);
    await converter.configure(settings, which === 'key');
    return converter;
  };
  return { key: await make('key'), value: await make('value'), header: await make('header') };
}
