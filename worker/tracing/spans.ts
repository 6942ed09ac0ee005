import type { Delivery, DeliveryOutcome, TraceContext } from '../queue';

// What `seed` and `work` see of tracing: spans they start and end. The OpenTelemetry side
// (./opentelemetry.ts) implements it in a file of the bundle of its own, loaded only when tracing is on.

/** The span of one seed run; its context goes with each item the run adds. */
export interface SeedSpan {
  readonly context: TraceContext;
  /** Ends it: how many items this run added, or the error that ended the seed. */
  end(result: { readonly added: number } | { readonly error: unknown }): void;
}

/** The span of one delivery of an item, a child of its seed run's span when the item carries one. */
export interface ItemSpan {
  /** The item's command exited (null: a signal ended it). */
  readonly commandExited: (code: number | null) => void;
  /** The item outlasted WORK_TIMEOUT_SECONDS and was stopped. */
  readonly timedOut: () => void;
  /** Ends it with what became of the delivery. */
  end(outcome: DeliveryOutcome): void;
  /** Ends it with an error that stopped the worker while it held the item. */
  fail(error: unknown): void;
}

export interface Tracer {
  startSeed(seed: { readonly id: string; readonly run?: string; readonly total: number }): SeedSpan;
  startItem(delivery: Delivery): ItemSpan;
  /** Sends the spans not sent yet, waiting TRACE_FLUSH_MS at most (./opentelemetry.ts). */
  shutdown(): Promise<void>;
}
