export * from './v2-grpc.stub';
export * from './grpc-node.transport';
