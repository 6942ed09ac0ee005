import { MACHINE_RABBITMQ } from './rabbitmq-install';
import { describeRabbitMQCluster } from './rabbitmq-cluster-suite';

describeRabbitMQCluster(MACHINE_RABBITMQ);
