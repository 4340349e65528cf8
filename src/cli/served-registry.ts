/**
 * The Schema Registry as the CLI serves it, alone (`sluice schema-registry`) or inside
 * `sluice serve --schema-registry-port`: opened on its storage, listening, and announced with one
 * line on stdout, `schema registry listening on http://HOST:PORT`.
 */
import type { SchemaStorage } from '../registry/index.js';
import { writeOut } from './output.js';

/** Confluent's port. */
export const DEFAULT_SCHEMA_REGISTRY_PORT = 8081;

/** A registry being served; close() stops answering, then closes the registry. */
export interface ServedRegistry {
  readonly url: string;
  close(): Promise<void>;
}

/** Opens the registry on `storage` and serves it on host:port, printing where it listens. */
export async function startServedRegistry(storage: SchemaStorage, host: string, port: number): Promise<ServedRegistry> {
  // Loaded on use: fastify and the schema libraries stay out of every other command's start-up.
  const { openSchemaRegistry, startRegistryServer } = await import('../registry/index.js');
  const registry = await openSchemaRegistry(storage);
  try {
    const server = await startRegistryServer(registry, { host, port });
    await writeOut(`schema registry listening on ${server.url}\n`);
    return {
      url: server.url,
      close: async () => {
        await server.close();
        await registry.close();
      },
    };
  } catch (error) {
    await registry.close();
    throw error;
  }
}

