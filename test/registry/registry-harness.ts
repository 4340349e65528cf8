/**
 * A Sluice on a temporary data directory with the Schema Registry served on a free port of
 * 127.0.0.1; `restart` closes all three and opens them again on the same data directory.
 */
import { Sluice } from '../../src/sluice.js';
import { openSchemaRegistry, startRegistryServer, type RunningRegistryServer } from '../../src/registry/index.js';
import type { SchemaRegistry } from '../../src/registry/registry.js';
import { quietLogger } from '../broker/broker-test-helpers.js';
import { makeTempDir, removeTempDir } from '../support/temp-dir.js';

export const REGISTRY_CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

export class RegistryHarness {
  sluice!: Sluice;
  registry!: SchemaRegistry;
  server!: RunningRegistryServer;

  private constructor(readonly dataDir: string) {}

  static async start(): Promise<RegistryHarness> {
    const harness = new RegistryHarness(makeTempDir('registry'));
    await harness.open();
    return harness;
  }

  get url(): string {
    return this.server.url;
  }

  private async open(): Promise<void> {
    this.sluice = await Sluice.open({ dataDir: this.dataDir, shards: 1, groupInitialRebalanceDelayMs: 0, logger: quietLogger });
    this.registry = await openSchemaRegistry({ sluice: this.sluice });
    this.server = await startRegistryServer(this.registry, { port: 0 });
  }

  async restart(): Promise<void> {
    await this.closeAll();
    await this.open();
  }

  private async closeAll(): Promise<void> {
    await this.server.close();
    await this.registry.close();
    await this.sluice.close();
  }

  async stop(): Promise<void> {
    await this.closeAll();
    removeTempDir(this.dataDir);
  }

  /** A request with Confluent's content type; resolves with the status and the parsed JSON body. */
  async call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const response = await fetch(`${this.url}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': REGISTRY_CONTENT_TYPE },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // A raw schema (GET .../schema) need not be JSON: keep the text.
    }
    return { status: response.status, body: parsed };
  }
}
