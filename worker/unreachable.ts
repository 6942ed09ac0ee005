import type { BrokerConfig } from './config';
import { Env, ExitCode, describeProblem } from './contract';
import { CliError } from './errors';

const BROKER_NAMES = { amqp: 'RabbitMQ (AMQP)', redis: 'Redis' } as const;

/** The one-line error for a broker that refused or never answered the connection, or failed its TLS handshake. */
export function connectError(broker: BrokerConfig, error: unknown): CliError {
  const reason = describeCause(error);
  const tls = broker.tls ? ` that speaks TLS with a certificate for ${broker.hostname} trusted by Node.js (its CA store or NODE_EXTRA_CA_CERTS) and` : ' that';
  return new CliError(
    describeProblem(Env.brokerUrl, broker.display, `a reachable ${BROKER_NAMES[broker.scheme]} broker at ${broker.hostname}:${broker.port}${tls} accepts these credentials (${reason})`),
    ExitCode.brokerUnreachable,
  );
}

/** OpenSSL's errors carry the library and a short reason besides a multi-line message. */
interface OpenSslError extends NodeJS.ErrnoException {
  readonly library?: string;
  readonly reason?: string;
}

function describeCause(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return describeCause(error.errors[0]);
  const e = error as OpenSslError | undefined;
  const text = e?.library && e.reason ? e.reason : e?.message ? e.message.split('\n')[0] : String(error);
  return e?.code && !text.includes(e.code) ? `${e.code}: ${text}` : text;
}
