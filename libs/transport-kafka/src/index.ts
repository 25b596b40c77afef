export * from './topics';
export * from './kafka.client';
export * from './send.coalescer';
export * from './pipelined.consumer';
export * from './kafka-graph.stream';
export * from './kafka-node.transport';
export * from './kafka-node.bus';
export * from './kafka-node.server';
