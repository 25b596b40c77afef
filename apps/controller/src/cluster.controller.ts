import { Body, Controller, Delete, Get, Param, Post } from '@nestjs/common';
import { invalidArgument } from '@infergraph/protocol';
import { ClusterService } from './cluster.service';

/** Admin REST API of the controller. */
@Controller()
export class ClusterController {
  constructor(private readonly cluster: ClusterService) {}

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
