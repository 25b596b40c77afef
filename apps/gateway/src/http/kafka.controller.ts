import { Controller, Get } from '@nestjs/common';
import { KafkaStreamService } from '../graphs/kafka-stream.service';

/** Operator endpoint: the graph streams' and Kafka node calls' state (in flight, pauses, late answers). */
@Controller('v1/kafka')
export class KafkaController {
  constructor(private readonly kafka: KafkaStreamService) {}

  @Get()
  status(): unknown {
    return this.kafka.status();
  }
}
