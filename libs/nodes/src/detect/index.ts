export * from './drift-computer.port';
export * from './drift.node';
export * from './outlier.node';
export * from './in-process-drift.computer';
export * from './tensor-rows';
export * from './feature.histogram';
