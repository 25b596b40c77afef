export * from './thread-calls';
export * from './background.thread';
export * from './background-priority';
export * from './background.process';
