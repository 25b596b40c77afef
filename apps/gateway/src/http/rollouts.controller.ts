import { BadRequestException, Controller, Get, HttpCode, NotFoundException, Param, Post, UseGuards } from '@nestjs/common';
import { RolloutManager, type RolloutAction } from '@infergraph/engine';
import { OpsAuthGuard } from './ops-auth.guard';

const ACTIONS: readonly RolloutAction[] = ['pause', 'resume', 'abort', 'promote'];

/** Operator endpoints of canary rollouts: status with step and measurements, and control. */
@Controller('v1/rollouts')
@UseGuards(OpsAuthGuard)
export class RolloutsController {
  constructor(private readonly rollouts: RolloutManager) {}

  @Get()
  list(): unknown {
    return { rollouts: this.rollouts.list() };
  }

  @Get(':graph')
  status(@Param('graph') graph: string): unknown {
    const status = this.rollouts.status(graph);
    if (status === undefined) throw new NotFoundException(`graph "${graph}" has no rollout`);
    return status;
  }

  @Post(':graph/:action')
  @HttpCode(200)
  control(@Param('graph') graph: string, @Param('action') action: string): unknown {
    if (!(ACTIONS as readonly string[]).includes(action)) throw new BadRequestException(`action: "${action}" is not one of ${ACTIONS.join(', ')}`);
    if (this.rollouts.status(graph) === undefined) throw new NotFoundException(`graph "${graph}" has no rollout`);
    try {
      return this.rollouts.control(graph, action as RolloutAction);
    } catch (err) {
      throw new BadRequestException(err instanceof Error ? err.message : String(err));
    }
  }
}
