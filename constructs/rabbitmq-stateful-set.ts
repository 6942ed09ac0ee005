import { ApiObject, Duration, JsonPatch, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { Defaults } from '../worker/contract';
import { IWorkQueueBroker, ClientEnvVar } from './broker';
import { BrokerAccess, SecretKeys } from './broker-access';
import { appLabels } from './labels';
import { hardenedContainer } from './security';
import { check, dnsLabelRule, storageQuantityRule } from './validate';

export interface RabbitMQStatefulSetProps {
  /**
   * Name of the client Service, the host in `BROKER_URL`.
   * @default 'rabbitmq-service' (as in the tutorial)
   */
  readonly serviceName?: string;
  /**
   * Name of the StatefulSet; its single pod is `<name>-0`.
   * @default 'rabbitmq'
   */
  readonly name?: string;
  /**
   * RabbitMQ image, pinned. Must be an image of the official `rabbitmq` family (4.x).
   * @default 'rabbitmq:4.1.4'
   */
  readonly image?: string;
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
   * @default 'work-queue' (ignored when `existingSecretName` is given)
   */
  readonly username?: string;
  /**
   * Password of `username`. URL-unreserved characters only, since it is expanded into `BROKER_URL`.
   * @default - a random password generated at synth time
   */
  readonly password?: string;
  /**
   * An existing Secret with the keys `username` and `password` to use instead of creating one.
   * @default - a Secret `<serviceName>-credentials` is created
   */
  readonly existingSecretName?: string;
  /**
   * CPU and memory of the broker container.
   * @default - requests 250m CPU and 512Mi memory; limits 1 CPU and 1Gi memory
   */
  readonly resources?: kplus.ContainerResources;
}

/** The official image runs RabbitMQ as this user; running as it from the start needs no root step. */
const RABBITMQ_UID = 999;
const DATA_DIRECTORY = '/var/lib/rabbitmq';

/**
 * A single-node RabbitMQ broker: a StatefulSet with a persistent volume, its client Service, a
 * credentials Secret and a NetworkPolicy that admits only the registered client workloads.
 */
export class RabbitMQStatefulSet extends Construct implements IWorkQueueBroker {
  public readonly scheme = 'amqp' as const;
  public readonly host: string;
  public readonly port = Defaults.amqpPort;
  public readonly statefulSet: kplus.StatefulSet;
  public readonly service: kplus.Service;
  private readonly access: BrokerAccess;

  constructor(scope: Construct, id: string, props: RabbitMQStatefulSetProps = {}) {
    super(scope, id);
    this.host = props.serviceName ?? 'rabbitmq-service';
    const name = props.name ?? 'rabbitmq';
    const storageSize = props.storageSize ?? '1Gi';
    check(this, 'serviceName', this.host, dnsLabelRule);
    check(this, 'name', name, dnsLabelRule);
    check(this, 'storageSize', storageSize, storageQuantityRule);

    const labels = appLabels('rabbitmq', name, 'broker');
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

    this.access = new BrokerAccess(this, 'Access', {
      scheme: this.scheme,
      host: this.host,
      port: this.port,
      brokerPods: this.statefulSet,
      username: props.username,
      password: props.password,
      existingSecretName: props.existingSecretName,
      generatePassword: true,
      withUsername: true,
    });
    const secret = this.access.secret!;

    this.statefulSet.addContainer({
      name: 'rabbitmq',
      image: props.image ?? 'rabbitmq:4.1.4',
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
      resources: props.resources ?? {
        cpu: { request: kplus.Cpu.millis(250), limit: kplus.Cpu.units(1) },
        memory: { request: Size.mebibytes(512), limit: Size.gibibytes(1) },
      },
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

  public get clientEnv(): ClientEnvVar[] {
    return this.access.clientEnv;
  }

  public admitClient(client: kplus.Workload): void {
    this.access.admit(client);
  }
}
