export * from './rollout.judge';
export * from './rollout.plan';
