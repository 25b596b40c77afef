import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { GraphRegistry, checkSentGraphs } from '@infergraph/engine';
import type { CatalogueMessage } from '@infergraph/protocol';
import { NodeKey } from '@infergraph/spec';
import { CatalogueWatcher } from '@infergraph/transport-grpc';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config';

/**
 * Cluster mode: serves the controller's graph catalogue. The catalogue carries each graph's document (checked
 * here: fields, size, content hash), so the gateway shares no volume with the controller; models and modules
 * still come from its own roots. A graph added at the controller is loaded here, a changed one (content
 * hash) is reloaded (the old version keeps its in-flight requests), a deleted one is removed. Until the
 * first catalogue arrives the gateway serves its own GRAPHS_DIR.
 */
@Injectable()
export class CatalogueFollowerService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('catalogue');
  private watcher: CatalogueWatcher | undefined;
  /** Catalogues are applied one after another, latest last. */
  private applying: Promise<void> = Promise.resolve();

  constructor(
    private readonly registry: GraphRegistry,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  onApplicationBootstrap(): void {
    if (this.config.controller === undefined) return;
    const controller = this.config.controller;
    this.watcher = new CatalogueWatcher(
      controller,
      `gateway-${process.pid}`,
      (catalogue) => {
        this.applying = this.applying.then(() => this.apply(catalogue));
      },
      200,
      this.config.controlSecurity,
      (details) => this.logger.error(`the controller at ${controller} refused this gateway: ${details}`),
    );
    this.watcher.start();
  }

  onApplicationShutdown(): void {
    this.watcher?.stop();
  }

  private async apply(catalogue: CatalogueMessage): Promise<void> {
    const checked = checkSentGraphs(catalogue.graphs);
    for (const r of checked.refused) this.logger.error(r.problem);
    // Catalogue graphs are named by graph id (`NodeKey.graphId`): each version is an entry of its own.
    const wanted = new Map(checked.graphs.map((g) => [g.name, g]));
    // A refused graph keeps its served version, if any: it is still in the catalogue.
    const kept = new Set(checked.refused.flatMap((r) => (r.name === undefined ? [] : [r.name])));
    for (const entry of this.registry.list()) {
      const id = NodeKey.graphId(entry.name, entry.version);
      // Entries named "<name>@<file>" are name clashes of local files: not the catalogue's business.
      if (wanted.has(id) || kept.has(id) || entry.name.includes('@')) continue;
      this.registry.remove(entry.name, entry.version);
    }
    const loads: Promise<unknown>[] = [];
    for (const g of wanted.values()) {
      const id = NodeKey.parseGraphId(g.name);
      const entry = id === undefined ? undefined : this.registry.get(id.graph, id.version ?? NodeKey.UNVERSIONED);
      if (entry !== undefined && entry.file === g.file && entry.contentHash === g.contentHash && entry.state === 'ready') continue;
      this.logger.log(`${entry === undefined ? 'adding' : 'reloading'} graph "${g.name}" from the controller's catalogue (${g.file}, sha256 ${g.contentHash.slice(0, 12)})`);
      loads.push(this.registry.loadSource(g.file, g.source));
    }
    await Promise.all(loads);
  }
}
