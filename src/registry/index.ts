/**
 * The Schema Registry room: Confluent's REST API over a compacted _schemas topic. Open one on an
 * embedded Sluice or a Kafka server, then serve it:
 *
 *   const registry = await openSchemaRegistry({ sluice });
 *   const server = await startRegistryServer(registry, { port: 8081 });
 */
import type { BrokerApi } from '../broker/broker-api.js';
import type { Sluice } from '../sluice.js';
import { SchemaRegistry } from './registry.js';
import { embeddedSchemaLog, kafkaSchemaLog } from './schema-log.js';

export { SchemaRegistry, DEFAULT_COMPATIBILITY, MODES, type Mode, type SchemaRequest, type StoredSchema, type SubjectVersion } from './registry.js';
export { COMPATIBILITY_LEVELS, type CompatibilityLevel } from './compatibility.js';
export { SCHEMA_TYPES, type SchemaType, type SchemaReference } from './schema.js';
export { SCHEMAS_TOPIC, embeddedSchemaLog, kafkaSchemaLog, type SchemaLog, type SchemaLogRecord } from './schema-log.js';
export { startRegistryServer, buildRegistryApp, SCHEMA_REGISTRY_CONTENT_TYPE, type RegistryServerOptions, type RunningRegistryServer } from './server.js';

/** Where the _schemas topic lives: an embedded Sluice (or its broker), or a Kafka server at `host:port`. */
export type SchemaStorage = { sluice: Sluice } | { broker: BrokerApi } | { bootstrapServer: string };

/** Opens the registry on its storage, reading _schemas to its end first. */
export async function openSchemaRegistry(storage: SchemaStorage): Promise<SchemaRegistry> {
  const log =
    'bootstrapServer' in storage
      ? await kafkaSchemaLog(storage.bootstrapServer)
      : await embeddedSchemaLog('sluice' in storage ? storage.sluice.broker : storage.broker);
  try {
    return await SchemaRegistry.open(log);
  } catch (error) {
    await log.close();
    throw error;
  }
}
