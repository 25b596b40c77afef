export * from './thread-calls';
export * from './background.runner';
export * from './background.thread';
export * from './background-priority';
export * from './background.process';
