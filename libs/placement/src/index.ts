export * from './placement.types';
export { placeReplicas } from './placement.planner';
export { formatBytes, formatCpu, parseBytes, parseCpu, type Rounding } from './quantity.parser';
