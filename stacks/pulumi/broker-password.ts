import * as pulumi from '@pulumi/pulumi';
import * as random from '@pulumi/random';

/**
 * A broker password generated once and then kept in the state, so it is stable across runs
 * (RabbitMQ creates its user on first boot only). URL-unreserved characters only, since it is
 * expanded into BROKER_URL as it is. The only module that loads @pulumi/random.
 */
export function generatedBrokerPassword(name: string, parent: pulumi.Resource): pulumi.Output<string> {
  const generated = new random.RandomPassword(`${name}-broker-password`, { length: 32, special: false }, { parent });
  return pulumi.secret(generated.result);
}

/**
 * The Erlang cookie of a RabbitMQ cluster, generated once and kept in the state: a node restarted
 * with another cookie could not rejoin the others.
 */
export function generatedErlangCookie(name: string, parent: pulumi.Resource): pulumi.Output<string> {
  const generated = new random.RandomPassword(`${name}-erlang-cookie`, { length: 48, special: false }, { parent });
  return pulumi.secret(generated.result);
}
