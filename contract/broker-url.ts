import { Defaults } from './env';

/** The supported brokers, named by their plain `BROKER_URL` scheme. */
export const BROKER_SCHEMES = ['amqp', 'redis'] as const;
export type BrokerScheme = (typeof BROKER_SCHEMES)[number];

/** The `BROKER_URL` scheme of each broker over TLS (`amqps://`, `rediss://`). */
export const TLS_SCHEMES: Record<BrokerScheme, string> = { amqp: 'amqps', redis: 'rediss' };

/** The `BROKER_URL` scheme for a broker, with or without TLS. */
export function brokerUrlScheme(scheme: BrokerScheme, tls: boolean): string {
  return tls ? TLS_SCHEMES[scheme] : scheme;
}

/**
 * The `BROKER_URL` scheme of a Redis whose primary clients ask Sentinel for:
 * `redis+sentinel://[[user]:password@]host[:port][,host[:port]...]/<master name>[/<db>]`.
 */
export function sentinelUrlScheme(tls: boolean): string {
  return `${brokerUrlScheme('redis', tls)}+sentinel`;
}

/** The client port of a broker when `BROKER_URL` names none: AMQP's IANA ports, Redis' one port for both. */
export function defaultBrokerPort(scheme: BrokerScheme, tls: boolean): number {
  if (scheme === 'amqp') return tls ? Defaults.amqpsPort : Defaults.amqpPort;
  return Defaults.redisPort;
}
