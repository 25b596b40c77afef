export * from './kafka-graph.stream';
