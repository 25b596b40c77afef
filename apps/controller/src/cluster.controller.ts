import { Body, Controller, Delete, Get, Header, Param, Post, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { invalidArgument } from '@infergraph/protocol';
import { ClusterMetrics } from '@infergraph/telemetry';
import { ClusterService } from './cluster.service';

/** Admin REST API of the controller. */
@Controller()
export class ClusterController {
  constructor(
    private readonly cluster: ClusterService,
    private readonly metrics: ClusterMetrics,
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

  @Get('v1/cluster')
  status(): unknown {
    return this.cluster.status();
  }

  @Get('v1/graphs')
  graphs(): unknown {
    return this.cluster.graphs();
  }

  @Post('v1/graphs')
  add(@Body() body: unknown): unknown {
    const text = Buffer.isBuffer(body) ? body.toString('utf8') : typeof body === 'string' ? body : undefined;
    if (text === undefined || text.trim() === '') throw invalidArgument('request body must be an InferenceGraph YAML document');
    return this.cluster.addGraph(text);
  }

  @Delete('v1/graphs/:name')
  remove(@Param('name') name: string): unknown {
    return this.cluster.removeGraph(name);
  }
}
