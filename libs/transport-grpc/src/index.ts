export * from './v2-grpc.stub';
export * from './v2-grpc.service';
export * from './v2-grpc.server';
export * from './grpc-node.transport';
export * from './control-channel';
export * from './routing-table.watcher';
export * from './metadata-headers';
