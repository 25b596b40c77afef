import { Body, Controller, Delete, Get, Header, Param, Post, Put, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { invalidArgument } from '@infergraph/protocol';
import { ClusterMetrics } from '@infergraph/telemetry';
import { ClusterService } from './cluster.service';
import { GraphCatalogueService } from './graph-catalogue.service';
import { KubernetesOperatorService } from './kubernetes/kubernetes-operator.service';

/** Admin REST API of the controller. */
@Controller()
export class ClusterController {
  constructor(
    private readonly cluster: ClusterService,
    private readonly catalogue: GraphCatalogueService,
    private readonly metrics: ClusterMetrics,
    private readonly operator: KubernetesOperatorService,
  ) {}

  /** Prometheus scrape endpoint (text exposition format). */
  @Get('metrics')
  @Header('cache-control', 'no-store')
  async scrape(@Res() reply: FastifyReply): Promise<void> {
    const body = await this.metrics.text();
    await reply.header('content-type', this.metrics.contentType).send(body);
  }

  @Get('healthz')
  health(): unknown {
    return { live: true };
  }

  /**
   * Readiness: 200 while this controller serves the control plane (files mode), or in Kubernetes mode while
   * it leads or stands by able to take over (`role` says which); else 503.
   */
  @Get('healthz/ready')
  ready(@Res({ passthrough: true }) reply: FastifyReply): unknown {
    const { ready, role } = this.operator.readiness() ?? { ready: this.cluster.serving, role: 'leader' };
    void reply.status(ready ? 200 : 503);
    return { ready, leader: role === 'leader' && this.cluster.serving, role };
  }

  @Get('v1/cluster')
  status(): unknown {
    return this.cluster.status();
  }

  @Get('v1/graphs')
  graphs(): unknown {
    return this.catalogue.describe();
  }

  @Post('v1/graphs')
  add(@Body() body: unknown): Promise<unknown> {
    return this.catalogue.add(yamlBody(body));
  }

  @Put('v1/graphs/:name')
  async put(@Param('name') name: string, @Body() body: unknown, @Res({ passthrough: true }) reply: FastifyReply): Promise<unknown> {
    const { created, graph } = await this.catalogue.put(name, yamlBody(body));
    void reply.status(created ? 201 : 200);
    return graph;
  }

  /** The removed graph's description; with several versions removed, `{name, versions}`. */
  @Delete('v1/graphs/:name')
  remove(@Param('name') name: string): unknown {
    const removed = this.catalogue.remove(name);
    return removed.length === 1 ? removed[0] : { name, versions: removed };
  }

  @Delete('v1/graphs/:name/versions/:version')
  removeVersion(@Param('name') name: string, @Param('version') version: string): unknown {
    return this.catalogue.remove(name, version)[0];
  }
}

/** The request body as bytes: YAML arrives raw (any content type but JSON and text/plain, which Fastify parses). */
function yamlBody(body: unknown): Uint8Array {
  const bytes = Buffer.isBuffer(body) ? body : typeof body === 'string' ? Buffer.from(body, 'utf8') : undefined;
  if (bytes === undefined || bytes.toString('utf8').trim() === '') throw invalidArgument('request body must be an InferenceGraph YAML document');
  return bytes;
}
