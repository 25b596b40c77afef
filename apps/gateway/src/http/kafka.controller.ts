import { Controller, Get, UseGuards } from '@nestjs/common';
import { OpsAuthGuard } from './ops-auth.guard';
import { KafkaStreamService } from '../graphs/kafka-stream.service';

/** Operator endpoint: the graph streams' and Kafka node calls' state (in flight, pauses, late answers). */
@Controller('v1/kafka')
@UseGuards(OpsAuthGuard)
export class KafkaController {
  constructor(private readonly kafka: KafkaStreamService) {}

  @Get()
  status(): unknown {
    return this.kafka.status();
  }
}
