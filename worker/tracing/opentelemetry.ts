import {
  ROOT_CONTEXT,
  type Attributes,
  type Span,
  SpanKind,
  SpanStatusCode,
  type Tracer as OtelTracer,
  trace,
} from '@opentelemetry/api';
import { ExportResultCode, W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, type ReadableSpan, type SpanExporter, TracerProvider } from '@opentelemetry/sdk-trace';
import type { TracingConfig } from '../config';
import type { Delivery, DeliveryOutcome, TraceContext } from '../queue';
import type { ItemSpan, SeedSpan, Tracer } from './spans';

// The one module that imports OpenTelemetry: the bundle makes it a file of its own (tracing.cjs),
// which ./load.ts requires only when tracing is on. The span names and attributes are documented
// in docs/operations.md (Traces).

/** How long the spans not sent yet may hold up the process's exit; then they are dropped. */
export const TRACE_FLUSH_MS = 2000;

/** `messaging.system` of each broker. */
const MESSAGING_SYSTEM = { amqp: 'rabbitmq', redis: 'redis' } as const;

/** `work_queue.outcome` of an item span: what became of the delivery. */
const OUTCOME: Record<DeliveryOutcome, string> = {
  done: 'done',
  retry: 'retry',
  dead: 'dead',
  lost: 'lost',
  notCompleted: 'not_completed',
  aborted: 'released',
  disconnected: 'disconnected',
};

export interface TraceTarget {
  readonly scheme: keyof typeof MESSAGING_SYSTEM;
  readonly queue: string;
}

export function startTracing(config: TracingConfig, target: TraceTarget, log: (line: string) => void): Tracer {
  return new OpenTelemetryTracer(config, target, log);
}

class OpenTelemetryTracer implements Tracer {
  private readonly provider: TracerProvider;
  private readonly tracer: OtelTracer;
  private readonly propagator = new W3CTraceContextPropagator();
  private readonly common: Attributes;

  constructor(
    private readonly config: TracingConfig,
    private readonly target: TraceTarget,
    private readonly log: (line: string) => void,
  ) {
    const Exporter = config.protocol === 'http/json' ? JsonExporter : ProtobufExporter;
    const exporter = new ReportingExporter(
      new Exporter({ url: config.tracesUrl, timeoutMillis: TRACE_FLUSH_MS }),
      config.tracesUrl,
      log,
    );
    // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES (envDetector) win over the default name.
    const resource = resourceFromAttributes({ 'service.name': 'work-queue' }).merge(
      detectResources({ detectors: [envDetector] }),
    );
    this.provider = new TracerProvider({
      resource,
      spanProcessors: [new BatchSpanProcessor({ exporter, exportTimeoutMillis: TRACE_FLUSH_MS })],
    });
    this.tracer = this.provider.getTracer('work-queue');
    this.common = { 'messaging.system': MESSAGING_SYSTEM[target.scheme], 'messaging.destination.name': target.queue };
  }

  startSeed(seed: { id: string; run?: string; total: number }): SeedSpan {
    const span = this.tracer.startSpan(
      `seed ${this.target.queue}`,
      {
        kind: SpanKind.PRODUCER,
        attributes: {
          ...this.common,
          'messaging.operation.type': 'send',
          'messaging.operation.name': 'seed',
          'work_queue.seed.id': seed.id,
          'work_queue.seed.total': seed.total,
          ...(seed.run !== undefined && { 'work_queue.seed.run': seed.run }),
        },
      },
      ROOT_CONTEXT,
    );
    return {
      context: this.contextOf(span),
      end: (result) => {
        if ('error' in result) failed(span, result.error);
        else span.setAttribute('messaging.batch.message_count', result.added);
        span.end();
      },
    };
  }

  startItem(delivery: Delivery): ItemSpan {
    const parent = delivery.traceContext
      ? this.propagator.extract(ROOT_CONTEXT, delivery.traceContext, CARRIER)
      : ROOT_CONTEXT;
    const span = this.tracer.startSpan(
      `process ${this.target.queue}`,
      {
        kind: SpanKind.CONSUMER,
        attributes: {
          ...this.common,
          'messaging.operation.type': 'process',
          'messaging.operation.name': 'process',
          'messaging.message.body.size': Buffer.byteLength(delivery.item, 'utf8'),
          'work_queue.attempt': delivery.attempt,
        },
      },
      parent,
    );
    let timedOut = false;
    return {
      commandExited: (code) => {
        if (code !== null) span.setAttribute('process.exit.code', code);
      },
      timedOut: () => {
        timedOut = true;
      },
      end: (outcome) => {
        span.setAttribute('work_queue.outcome', OUTCOME[outcome]);
        if (outcome !== 'done' && outcome !== 'aborted') {
          const errorType = timedOut
            ? 'timeout'
            : outcome === 'retry' || outcome === 'dead'
              ? 'command_failed'
              : OUTCOME[outcome];
          span.setAttribute('error.type', errorType);
          span.setStatus({ code: SpanStatusCode.ERROR, message: errorType });
        }
        span.end();
      },
      fail: (error) => {
        failed(span, error);
        span.end();
      },
    };
  }

  /** Ends the provider, which sends what is left; gives up after TRACE_FLUSH_MS, so that no collector holds a pod. */
  async shutdown(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), TRACE_FLUSH_MS);
    });
    const ended = this.provider.shutdown().then(
      () => false,
      () => false,
    );
    if (await Promise.race([ended, late]))
      this.log(
        `traces: ${this.config.tracesUrl} took more than ${TRACE_FLUSH_MS / 1000} s: the spans not sent by then are dropped`,
      );
    clearTimeout(timer);
  }

  private contextOf(span: Span): TraceContext {
    const carrier: Record<string, string> = {};
    this.propagator.inject(trace.setSpan(ROOT_CONTEXT, span), carrier, CARRIER);
    return { traceparent: carrier.traceparent, ...(carrier.tracestate && { tracestate: carrier.tracestate }) };
  }
}

/** Reads and writes the W3C headers of a TraceContext. */
const CARRIER = {
  get: (carrier: object, key: string) => (carrier as Record<string, string | undefined>)[key],
  set: (carrier: object, key: string, value: string) => {
    (carrier as Record<string, string>)[key] = value;
  },
  keys: (carrier: object) => Object.keys(carrier),
};

function failed(span: Span, error: unknown): void {
  const message = error instanceof Error ? error.message : String(error);
  span.setAttribute('error.type', error instanceof Error ? error.constructor.name : 'error');
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}

/** Passes spans on, and says once per run that the collector did not take some (OpenTelemetry itself stays silent). */
class ReportingExporter implements SpanExporter {
  private reported = false;

  constructor(
    private readonly exporter: SpanExporter,
    private readonly url: string,
    private readonly log: (line: string) => void,
  ) {}

  export(spans: ReadableSpan[], done: Parameters<SpanExporter['export']>[1]): void {
    this.exporter.export(spans, (result) => {
      if (result.code !== ExportResultCode.SUCCESS && !this.reported) {
        this.reported = true;
        this.log(
          `traces: ${this.url} did not take ${spans.length} spans (${result.error?.message ?? 'no reason given'}); later failures are not reported`,
        );
      }
      done(result);
    });
  }

  shutdown(): Promise<void> {
    return this.exporter.shutdown();
  }

  forceFlush(): Promise<void> {
    return this.exporter.forceFlush?.() ?? Promise.resolve();
  }
}
