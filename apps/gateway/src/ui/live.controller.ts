import { Controller, Get, Inject, NotFoundException, Param, Res, UseGuards } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { GraphRegistry } from '@infergraph/engine';
import { OpsAuthGuard } from '../http/ops-auth.guard';
import { NODE_BUSES } from '../graphs/kafka-stream.service';
import type { GatewayNodeBuses } from '../graphs/node-bus.factory';
import { topologyOf } from './graph-topology';
import { LiveStatsService } from './live-stats.service';

/** Operator endpoints the dashboard reads besides /v1/graphs: a graph's DAG and the live feed (SSE). */
@Controller('v1')
@UseGuards(OpsAuthGuard)
export class LiveController {
  constructor(
    private readonly registry: GraphRegistry,
    private readonly live: LiveStatsService,
    @Inject(NODE_BUSES) private readonly buses: GatewayNodeBuses,
  ) {}

  @Get('graphs/:graph/topology')
  topology(@Param('graph') graph: string): unknown {
    const entry = this.registry.list().find((e) => e.name === graph);
    if (entry?.graph === undefined) throw new NotFoundException(`graph "${graph}" is not loaded${entry === undefined ? '' : ` (state ${entry.state})`}`);
    return topologyOf(entry.graph.spec, this.buses.graphs.kind);
  }

  @Get('live')
  stream(@Res() reply: FastifyReply): void {
    reply.hijack();
    this.live.open(reply.raw);
  }
}
