export * from './backlog';
export * from './scaling-policy';
export * from './signals';
export * from './steps';
export * from './utilization';
export * from './violation';
export * from './keda';
