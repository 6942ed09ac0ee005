export * from './broker';
export * from './work-queue-broker';
export * from './rabbitmq-stateful-set';
export * from './redis-pod';
export * from './external-broker';
export type { ClientJobProps } from './client-job';
export * from './queue-seeder';
export * from './work-queue-job';
export * as contract from '../worker/contract';
