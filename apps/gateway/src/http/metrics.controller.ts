import { Controller, Get, Header, Res, UseGuards } from '@nestjs/common';
import { OpsAuthGuard } from './ops-auth.guard';
import type { FastifyReply } from 'fastify';
import { EngineMetrics } from '@infergraph/telemetry';
import { ServingPool } from '../serving/serving-pool';

/** Prometheus scrape endpoint (text exposition format). */
@Controller('metrics')
@UseGuards(OpsAuthGuard)
export class MetricsController {
  constructor(
    private readonly metrics: EngineMetrics,
    private readonly serving: ServingPool,
  ) {}

  @Get()
  @Header('cache-control', 'no-store')
  async scrape(@Res() reply: FastifyReply): Promise<void> {
    // With serving processes, one scrape shows every process: their series summed into this one's.
    const body = await this.metrics.textWith(await this.serving.scrape());
    await reply.header('content-type', this.metrics.contentType).send(body);
  }
}
