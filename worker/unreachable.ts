import type { BrokerConfig } from './config';
import { Env, ExitCode, describeProblem } from './contract';
import { CliError } from './errors';

const BROKER_NAMES = { amqp: 'RabbitMQ (AMQP)', redis: 'Redis' } as const;

/** The one-line error for a broker that refused or never answered the connection. */
export function connectError(broker: BrokerConfig, error: unknown): CliError {
  const reason = describeCause(error);
  return new CliError(
    describeProblem(Env.brokerUrl, broker.display, `a reachable ${BROKER_NAMES[broker.scheme]} broker at ${broker.hostname}:${broker.port} that accepts these credentials (${reason})`),
    ExitCode.brokerUnreachable,
  );
}

function describeCause(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return describeCause(error.errors[0]);
  const e = error as NodeJS.ErrnoException | undefined;
  const text = e?.message ? e.message.split('\n')[0] : String(error);
  return e?.code && !text.includes(e.code) ? `${e.code}: ${text}` : text;
}
