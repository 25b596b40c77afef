import { Module, type DynamicModule } from '@nestjs/common';
import { APP_FILTER, APP_GUARD } from '@nestjs/core';
import { AdminAuthGuard } from './admin-auth.guard';
import { ClusterController } from './cluster.controller';
import { ClusterUiController } from './ui/cluster-ui.controller';
import { ClusterService } from './cluster.service';
import { CONTROLLER_CONFIG, type ControllerConfig } from './controller.config';
import { ControllerErrorFilter } from './error.filter';
import { GraphCatalogueService } from './graph-catalogue.service';
import { ClusterMetrics } from '@infergraph/telemetry';
import { KubernetesOperatorService } from './kubernetes/kubernetes-operator.service';

@Module({})
export class ControllerModule {
  static forConfig(config: ControllerConfig): DynamicModule {
    return {
      module: ControllerModule,
      controllers: [ClusterController, ClusterUiController],
      providers: [
        { provide: CONTROLLER_CONFIG, useValue: config },
        GraphCatalogueService,
        ClusterService,
        KubernetesOperatorService,
        { provide: ClusterMetrics, useFactory: (cluster: ClusterService) => new ClusterMetrics(() => cluster.metricsView()), inject: [ClusterService] },
        { provide: APP_FILTER, useClass: ControllerErrorFilter },
        { provide: APP_GUARD, useClass: AdminAuthGuard },
      ],
    };
  }
}
