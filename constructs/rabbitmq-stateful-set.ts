import { ApiObject, Duration, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { Defaults } from '../worker/contract';
import { SecretKeys } from './broker-credentials';
import { hardenedContainer } from './security';
import { check, PropRules } from './validate';
import { WorkQueueBroker, WorkQueueBrokerProps } from './work-queue-broker';

export interface RabbitMQStatefulSetProps extends WorkQueueBrokerProps {
  /**
   * Name of the StatefulSet; its single pod is `<name>-0`.
   * @default 'rabbitmq'
   */
  readonly name?: string;
  /**
   * Size of the PersistentVolumeClaim for `/var/lib/rabbitmq`, a Kubernetes quantity.
   * @default '1Gi'
   */
  readonly storageSize?: string;
  /**
   * StorageClass of the PersistentVolumeClaim.
   * @default - the cluster's default StorageClass
   */
  readonly storageClassName?: string;
  /**
   * User the broker creates on first boot; the clients use it.
   * @default 'work-queue' (not with `existingSecretName`, whose Secret names the user)
   */
  readonly username?: string;
}

/** The official image runs RabbitMQ as this user; running as it from the start needs no root step. */
const RABBITMQ_UID = 999;
const DATA_DIRECTORY = '/var/lib/rabbitmq';

/**
 * A single-node RabbitMQ broker: a StatefulSet with a persistent volume, its client Service, a
 * credentials Secret and a NetworkPolicy that admits only the registered client workloads.
 */
export class RabbitMQStatefulSet extends WorkQueueBroker {
  public readonly statefulSet: kplus.StatefulSet;
  public readonly service: kplus.Service;

  constructor(scope: Construct, id: string, props: RabbitMQStatefulSetProps = {}) {
    const name = props.name ?? 'rabbitmq';
    super(scope, id, props, {
      scheme: 'amqp',
      port: Defaults.amqpPort,
      defaultServiceName: 'rabbitmq-service',
      defaultImage: 'rabbitmq:4.1.4',
      defaultResources: { cpuMillis: { request: 250, limit: 1000 }, memoryMiB: { request: 512, limit: 1024 } },
      workloadName: name,
      authentication: 'user-and-password',
      username: props.username,
    });
    const storageSize = props.storageSize ?? '1Gi';
    check(this, 'name', name, PropRules.dnsLabel);
    check(this, 'storageSize', storageSize, PropRules.storageQuantity);

    const labels = this.labels;
    this.service = new kplus.Service(this, 'Service', {
      metadata: { name: this.host, labels },
      ports: [{ name: 'amqp', port: this.port, targetPort: this.port }],
    });

    this.statefulSet = new kplus.StatefulSet(this, 'Resource', {
      metadata: { name, labels },
      podMetadata: { labels },
      service: this.service,
      replicas: 1,
      automountServiceAccountToken: false,
      terminationGracePeriod: Duration.seconds(120),
      securityContext: { user: RABBITMQ_UID, group: RABBITMQ_UID, fsGroup: RABBITMQ_UID, ensureNonRoot: true },
    });
    const secret = this.secret!;

    this.statefulSet.addContainer({
      name: 'rabbitmq',
      image: this.image,
      imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
      ports: [{ name: 'amqp', number: this.port }],
      envVariables: {
        RABBITMQ_DEFAULT_USER: kplus.EnvValue.fromSecretValue({ secret, key: SecretKeys.username }),
        RABBITMQ_DEFAULT_PASS: kplus.EnvValue.fromSecretValue({ secret, key: SecretKeys.password }),
      },
      startup: kplus.Probe.fromTcpSocket({ port: this.port, periodSeconds: Duration.seconds(10), failureThreshold: 30 }),
      readiness: kplus.Probe.fromTcpSocket({ port: this.port, periodSeconds: Duration.seconds(10) }),
      liveness: kplus.Probe.fromCommand(['rabbitmq-diagnostics', '-q', 'ping'], {
        periodSeconds: Duration.seconds(60),
        timeoutSeconds: Duration.seconds(15),
        failureThreshold: 3,
      }),
      resources: this.resources,
      // Erlang writes below $HOME (the data volume) and to a few paths of the image at start.
      securityContext: hardenedContainer(RABBITMQ_UID, false),
    });

    // cdk8s-plus has no volumeClaimTemplates yet: the claim is patched in, mounted at the data directory.
    const claim = {
      metadata: { name: 'data', labels },
      spec: {
        accessModes: ['ReadWriteOnce'],
        // The typed serializer runs after patches, so the quantity must be a k8s.Quantity here.
        resources: { requests: { storage: kplus.k8s.Quantity.fromString(storageSize) } },
        ...(props.storageClassName ? { storageClassName: props.storageClassName } : {}),
      },
    };
    ApiObject.of(this.statefulSet).addJsonPatch(
      JsonPatch.add('/spec/volumeClaimTemplates', [claim]),
      JsonPatch.add('/spec/template/spec/containers/0/volumeMounts', [{ name: 'data', mountPath: DATA_DIRECTORY }]),
    );
  }
}
