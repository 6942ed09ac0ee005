import * as kplus from 'cdk8s-plus-28';
import { IConstruct } from 'constructs';
import { BrokerScheme } from '../worker/contract';

/** One environment variable of a client container; order matters because later values may expand earlier ones. */
export interface ClientEnvVar {
  readonly name: string;
  readonly value: kplus.EnvValue;
}

/**
 * A broker that seeder and worker pods connect to, whichever broker it is.
 * Implemented by `RabbitMQStatefulSet` (AMQP) and `RedisPod` (Redis).
 */
export interface IWorkQueueBroker extends IConstruct {
  /** The `BROKER_URL` scheme, which also tells the pattern it can serve (`fine` needs `redis`). */
  readonly scheme: BrokerScheme;
  /** Name of the broker's client Service, the host part of `BROKER_URL`. */
  readonly host: string;
  /** Client port of the Service. */
  readonly port: number;
  /** Credential variables from the broker's Secret, then `BROKER_URL` built from them with `$(VAR)` expansion. */
  readonly clientEnv: ClientEnvVar[];
  /**
   * Lets a workload's pods through the broker's NetworkPolicy and orders the workload after the
   * broker in the synthesized output.
   */
  admitClient(client: kplus.Workload): void;
}
