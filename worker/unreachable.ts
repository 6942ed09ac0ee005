import type { BrokerConfig } from './config';
import { Env, ExitCode, describeProblem } from '../contract';
import { CliError } from './errors';

const BROKER_NAMES = { amqp: 'RabbitMQ (AMQP)', redis: 'Redis' } as const;

/** `Redis at host:port`, or `Redis primary mymaster via Sentinel at host:port, ...`, for messages. */
export function brokerAt(broker: BrokerConfig): string {
  return `${BROKER_NAMES[broker.scheme]}${broker.sentinel ? ` primary ${broker.sentinel.master} via Sentinel` : ''} at ${hostsOf(broker)}`;
}

function hostsOf(broker: BrokerConfig): string {
  return (broker.sentinel?.nodes ?? [{ host: broker.hostname, port: broker.port }])
    .map(({ host, port }) => `${host}:${port}`)
    .join(', ');
}

/**
 * The one-line error for a broker that refused or never answered the connection, or failed its
 * TLS handshake; `triedSeconds` when it was waited for that long.
 */
export function connectError(broker: BrokerConfig, error: unknown, triedSeconds?: number): CliError {
  const reason =
    triedSeconds === undefined
      ? describeCause(error)
      : `not reachable for ${triedSeconds} s, ${Env.brokerRetrySeconds}; ${describeCause(error)}`;
  const trusted = 'trusted by Node.js (its CA store or NODE_EXTRA_CA_CERTS)';
  const expected = broker.sentinel
    ? `reachable Sentinel at ${hostsOf(broker)} that names the primary of ${broker.sentinel.master}, and a primary that accepts these credentials` +
      (broker.tls ? `, both speaking TLS with certificates for their host names ${trusted}` : '')
    : `reachable ${BROKER_NAMES[broker.scheme]} broker at ${hostsOf(broker)} that` +
      (broker.tls ? ` speaks TLS with a certificate for ${broker.hostname} ${trusted} and` : '') +
      ' accepts these credentials';
  return new CliError(
    describeProblem(Env.brokerUrl, broker.display, `a ${expected} (${reason})`),
    ExitCode.brokerUnreachable,
  );
}

/** The one-line error for a connection that was lost and not regained within BROKER_RETRY_SECONDS. */
export function connectionLostError(broker: BrokerConfig, retrySeconds: number, error: unknown): CliError {
  return new CliError(
    `lost the connection to ${brokerAt(broker)} and could not reconnect within ${retrySeconds} s (${Env.brokerRetrySeconds}): ${describeCause(error)}`,
    ExitCode.brokerUnreachable,
  );
}

/** The one-line error for a broker that answered but could not serve within BROKER_RETRY_SECONDS. */
export function notServingError(broker: BrokerConfig, retrySeconds: number, error: unknown): CliError {
  return new CliError(
    `${brokerAt(broker)} could not serve within ${retrySeconds} s (${Env.brokerRetrySeconds}): ${describeCause(error)}`,
    ExitCode.brokerUnreachable,
  );
}

/** OpenSSL's errors carry the library and a short reason besides a multi-line message. */
interface OpenSslError extends NodeJS.ErrnoException {
  readonly library?: string;
  readonly reason?: string;
}

/** The first line of an error's message, with its code (ECONNREFUSED) when the message lacks it. */
export function describeCause(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return describeCause(error.errors[0]);
  const e = error as OpenSslError | undefined;
  const text = e?.library && e.reason ? e.reason : e?.message ? e.message.split('\n')[0] : String(error);
  return e?.code && typeof e.code === 'string' && !text.includes(e.code) ? `${e.code}: ${text}` : text;
}
