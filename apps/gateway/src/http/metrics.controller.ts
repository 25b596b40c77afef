import { Controller, Get, Header, Res, UseGuards } from '@nestjs/common';
import { OpsAuthGuard } from './ops-auth.guard';
import type { FastifyReply } from 'fastify';
import { EngineMetrics } from '@infergraph/telemetry';

/** Prometheus scrape endpoint (text exposition format). */
@Controller('metrics')
@UseGuards(OpsAuthGuard)
export class MetricsController {
  constructor(private readonly metrics: EngineMetrics) {}

  @Get()
  @Header('cache-control', 'no-store')
  async scrape(@Res() reply: FastifyReply): Promise<void> {
    const body = await this.metrics.text();
    await reply.header('content-type', this.metrics.contentType).send(body);
  }
}
