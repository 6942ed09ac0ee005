export * from './broker';
export * from './rabbitmq-stateful-set';
export * from './redis-pod';
export * from './queue-seeder';
export * from './work-queue-job';
export { CLIENT_OF_LABEL } from './broker-access';
export * as contract from '../worker/contract';
