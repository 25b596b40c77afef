import { Logger } from '@nestjs/common';
import { InProcessNodeBus, type NodeBus } from '@infergraph/executor';
import { GraphNodeBus, chooseNodeBus, type NodeBusChoice } from '@infergraph/engine';
import { GrpcNodeBus, RoutingTableWatcher, mutualTlsChannelCredentials } from '@infergraph/transport-grpc';
import { KafkaClient, KafkaNodeBus, KafkaNodeTransport } from '@infergraph/transport-kafka';
import type { GatewayConfig } from '../config/gateway.config';

/** The gateway's node buses: the one its graphs use, and the Kafka bus when there are brokers (for /v1/kafka). */
export interface GatewayNodeBuses {
  readonly graphs: NodeBus;
  readonly kafka: KafkaNodeBus | null;
}

/** Builds the node bus the configuration chooses (`chooseNodeBus`). */
export function createNodeBus(config: GatewayConfig, client: KafkaClient | null): GatewayNodeBuses {
  const plan = chooseNodeBus({ nodeTransport: config.nodeTransport, workers: config.workers, controller: config.controller, kafkaBrokers: config.kafka.brokers });
  const kafka =
    plan.kafka && client !== null ? new KafkaNodeBus(new KafkaNodeTransport(client, `${config.kafka.groupId}.answers`, new Logger('kafka')), config.kafka.topicPrefix, new Logger('engine')) : null;
  return { graphs: new GraphNodeBus(busFor(plan.graphs, kafka, config), kafka ?? undefined), kafka };
}

function busFor(choice: NodeBusChoice, kafka: KafkaNodeBus | null, config: GatewayConfig): NodeBus {
  switch (choice.kind) {
    case 'inprocess':
      return new InProcessNodeBus();
    case 'kafka':
      // loadGatewayConfig refuses NODE_TRANSPORT=kafka without KAFKA_BROKERS.
      if (kafka === null) throw new Error('NODE_TRANSPORT=kafka needs KAFKA_BROKERS');
      return kafka;
    case 'grpc': {
      // Mutual TLS to workers when NODE_TLS_* is set: the worker checks this gateway's certificate, and this
      // gateway the worker's against the same CA.
      // NODE_TLS_SERVER_NAME: workers with changing addresses (pods) share one certificate of that name.
      // NODE_PING_*: a worker that stops answering without closing its connection is found by pings.
      const streams = {
        credentials: mutualTlsChannelCredentials(config.nodeTls?.pem),
        ...(config.nodeTlsServerName === undefined ? {} : { serverName: config.nodeTlsServerName }),
        pingIntervalMs: config.nodePing.intervalMs,
        pingTimeoutMs: config.nodePing.timeoutMs,
      };
      return 'controller' in choice ? GrpcNodeBus.routedBy(routingTable(choice.controller, config), streams) : GrpcNodeBus.toWorkers(choice.workers, streams);
    }
  }
}

/** Node calls go where the controller's routing table says a replica is ready. */
function routingTable(controller: string, config: GatewayConfig): RoutingTableWatcher {
  const logger = new Logger('routes');
  const watcher = new RoutingTableWatcher(controller, `gateway-${process.pid}`, {
    security: config.controlSecurity,
    carryOverMs: config.routeCarryOverMs,
    onRefused: (details) => logger.error(`the controller at ${controller} refused this gateway: ${details}`),
  });
  watcher.onChange((version, routes, epoch) => logger.log(`routing table v${version} (controller epoch ${epoch.slice(0, 8)}): ${routes} node(s) with ready replicas`));
  return watcher;
}
