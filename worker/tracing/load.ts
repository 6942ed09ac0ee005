import type { BrokerConfig, TracingConfig } from '../config';
import type { Tracer } from './spans';

// Tracing is opt-in (OTEL_EXPORTER_OTLP_ENDPOINT): OpenTelemetry lives in a file of the bundle of
// its own (./opentelemetry.ts, tracing.cjs), required here on first use, so that a pod without
// tracing loads none of it.

let started: Promise<Tracer> | undefined;

/** Starts tracing for `seed` or `work` on `queue`; undefined when `config` is (tracing is off). */
export function startTracing(
  config: TracingConfig | undefined,
  broker: BrokerConfig,
  queue: string,
  log: (line: string) => void,
): Promise<Tracer> | undefined {
  if (!config) return undefined;
  started ??= import('./opentelemetry').then(({ startTracing }) =>
    startTracing(config, { scheme: broker.scheme, queue }, log),
  );
  return started;
}

/** Sends the spans not sent yet, in bounded time (TRACE_FLUSH_MS); nothing to do when tracing is off. */
export async function endTracing(): Promise<void> {
  if (started) await (await started).shutdown();
}
