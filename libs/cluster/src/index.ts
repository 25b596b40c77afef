export { ClusterState, type ClusterStateOptions } from './cluster.state';
export * from './cluster.types';
export { PLACED_NODE_TYPES, demandsOf, type NodeDemand } from './node-demand';
export { Autoscaler, type AutoscalerOptions, type ScalePolicy } from './autoscaler';
