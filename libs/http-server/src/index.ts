export * from './closing-connections';
