import { DEPLOYED_RABBITMQ } from './rabbitmq-install';
import { describeRabbitMQCluster } from './rabbitmq-cluster-suite';

describeRabbitMQCluster(DEPLOYED_RABBITMQ);
