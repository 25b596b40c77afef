import { BadRequestException, Controller, Delete, Get, HttpCode, Inject, NotFoundException, Param, Post, Query, UseGuards } from '@nestjs/common';
import { OpsAuthGuard } from './ops-auth.guard';
import path from 'node:path';
import { GraphRegistry, type GraphEntry, type LoadedGraph } from '@infergraph/engine';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/gateway.config';

/** Operator endpoints: graph load states and detector results. */
@Controller('v1/graphs')
@UseGuards(OpsAuthGuard)
export class GraphsController {
  constructor(
    private readonly registry: GraphRegistry,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  /** One row per graph version; `default` marks the version the unversioned path serves. */
  @Get()
  graphs(): unknown {
    return { graphs: this.registry.list().map((e) => this.row(e)) };
  }

  /** Reloads every file of a graph now (as a file change would): validated, switched, old version drained. */
  @Post(':graph/reload')
  @HttpCode(200)
  async reload(@Param('graph') graph: string): Promise<unknown> {
    const files = this.registry.filesOf(graph);
    if (files.length === 0) throw new NotFoundException(`unknown graph "${graph}"`);
    await Promise.all(files.map((f) => this.registry.loadFile(f)));
    return { graphs: this.registry.versionsOf(graph).map((e) => this.row(e)) };
  }

  /** Stops serving one version (e.g. after its file was deleted); it closes once its requests finished. */
  @Delete(':graph/versions/:version')
  unload(@Param('graph') graph: string, @Param('version') version: string): unknown {
    if (!this.registry.remove(graph, version)) throw new NotFoundException(`graph "${graph}" has no version "${version}"`);
    return { graphs: this.registry.versionsOf(graph).map((e) => this.row(e)) };
  }

  private row(e: GraphEntry): unknown {
    return {
      name: e.name,
      file: shownFileOf(e.file, this.config.graphDirs),
      state: e.state,
      version: e.version,
      default: e.version !== undefined && this.registry.defaultVersion(e.name) === e.version,
      inFlight: e.graph === undefined ? 0 : this.registry.inFlightOf(e.graph),
      reloadError: e.reloadError?.split(e.file).join(shownFileOf(e.file, this.config.graphDirs)),
      loadMs: e.loadMs,
      models: e.graph?.models,
      driftNodes: e.graph === undefined ? undefined : [...e.graph.driftNodes.keys()],
      error: shownError(e, this.config.graphDirs),
      shadow: e.shadow,
      ...batchingOf(e.graph?.batchingStats()),
    };
  }

  @Get(':graph/nodes/:node/drift')
  drift(@Param('graph') graph: string, @Param('node') node: string): unknown {
    return this.registry.driftStatus(graph, node);
  }

  /** One watched feature: reference sample and latest tested window on shared bins (`?feature=&bins=`, 1–100, default 20). */
  @Get(':graph/nodes/:node/drift/histogram')
  histogram(@Param('graph') graph: string, @Param('node') node: string, @Query('feature') feature: unknown, @Query('bins') bins: unknown): unknown {
    if (typeof feature !== 'string' || feature === '') throw new BadRequestException('feature: name the feature (?feature=<name>)');
    const count = bins === undefined ? 20 : typeof bins === 'string' && /^\d{1,3}$/.test(bins) ? Number(bins) : NaN;
    if (!(count >= 1 && count <= 100)) throw new BadRequestException('bins: must be an integer from 1 to 100');
    return this.registry.driftHistogram(graph, node, feature, count);
  }
}

/** `batching`: per batched model node, its settings and counters since load (absent without batching). */
function batchingOf(stats: ReturnType<LoadedGraph['batchingStats']> | undefined): { batching?: ReturnType<LoadedGraph['batchingStats']> } {
  return stats === undefined || Object.keys(stats).length === 0 ? {} : { batching: stats };
}

/**
 * A graph file as the API shows it: relative to its GRAPHS_DIR entry (as the controller's catalogue does),
 * or its file name for a graph from the controller's catalogue; never an absolute path of this machine.
 */
function shownFileOf(file: string, graphDirs: readonly string[]): string {
  for (const dir of graphDirs) {
    const relative = path.relative(dir, file);
    if (relative !== '' && relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative)) return relative;
  }
  return path.basename(file);
}

/** The load error with the graph's own absolute path replaced by the shown one. */
function shownError(entry: GraphEntry, graphDirs: readonly string[]): string | undefined {
  return entry.error?.split(entry.file).join(shownFileOf(entry.file, graphDirs));
}
