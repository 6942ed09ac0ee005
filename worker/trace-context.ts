import { TraceHeader } from '../contract';
import type { TraceContext } from './queue';

// How a seed run's trace context travels with its items: AMQP message headers, and the value of
// the Redis `traces` hash (queueKeys). Nothing here loads OpenTelemetry.

/** The context as AMQP message headers (none without one). */
export function traceHeaders(context: TraceContext | undefined): Record<string, string> {
  if (!context) return {};
  return {
    [TraceHeader.parent]: context.traceparent,
    ...(context.tracestate && { [TraceHeader.state]: context.tracestate }),
  };
}

/** The context an AMQP message carries in its headers, if any. */
export function traceContextOfHeaders(headers: Record<string, unknown> | undefined): TraceContext | undefined {
  const traceparent = headers?.[TraceHeader.parent];
  if (typeof traceparent !== 'string') return undefined;
  const tracestate = headers?.[TraceHeader.state];
  return { traceparent, ...(typeof tracestate === 'string' && { tracestate }) };
}

/** The context as a value of the Redis `traces` hash: the traceparent, then the tracestate after a newline. */
export function storedTraceContext(context: TraceContext): string {
  return context.tracestate ? `${context.traceparent}\n${context.tracestate}` : context.traceparent;
}

/** The context a value of the Redis `traces` hash holds (nil: none). */
export function traceContextOfStored(value: string | null): TraceContext | undefined {
  if (!value) return undefined;
  const newline = value.indexOf('\n');
  return newline < 0
    ? { traceparent: value }
    : { traceparent: value.slice(0, newline), tracestate: value.slice(newline + 1) };
}
