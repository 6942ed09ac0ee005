import { CliError } from '../errors';
import { FIRST_BACKOFF_MS, isSocketUnreachable, jittered, MAX_BACKOFF_MS } from '../reconnect';
import { sleep } from '../sleep';
import { type ApiCall, apiRefused, apiUnreachable, describeLast, forbidden, unauthorized } from './api-errors';
import { type ApiResponse, RequestTimeout, sendRequest } from './api-request';
import { type InClusterConfig, readToken, serviceAccountOf } from './in-cluster';

/** The longest a single request may take; a silent API server is given up on after this. */
const MAX_REQUEST_MS = 10_000;
/** The least time a request is given, even when little of BROKER_RETRY_SECONDS is left. */
const MIN_REQUEST_MS = 2_000;

export interface KubeApiOptions {
  /** Seconds a call is retried while the API server cannot be reached, times out, or answers 429 or 5xx. */
  readonly retrySeconds: number;
  /** Progress lines (stderr). */
  readonly log: (line: string) => void;
}

/**
 * The Kubernetes API as the pod's service account sees it: plain REST and JSON over Node.js' TLS.
 * Transient failures are retried with backoff for `retrySeconds` (then exit 3); 401 and 403 end the
 * command (exit 1) with the rule the service account lacks; any other answer is returned.
 */
export class KubeApi {
  constructor(
    readonly config: InClusterConfig,
    private readonly options: KubeApiOptions,
  ) {}

  get namespace(): string {
    return this.config.namespace;
  }

  async call(call: ApiCall, body?: unknown): Promise<ApiResponse> {
    const { retrySeconds, log } = this.options;
    const started = Date.now();
    const deadline = started + retrySeconds * 1000;
    let last: unknown;
    for (let backoff = FIRST_BACKOFF_MS; ; backoff = Math.min(backoff * 2, MAX_BACKOFF_MS)) {
      const timeoutMs = Math.min(MAX_REQUEST_MS, Math.max(MIN_REQUEST_MS, deadline - Date.now()));
      let retryAfterMs = 0;
      try {
        const response = await sendRequest(this.config, call.method, call.path, body, timeoutMs);
        if (response.status === 401) throw unauthorized(call, this.serviceAccount(), this.config.tokenFile, response);
        if (response.status === 403) throw forbidden(call, this.serviceAccount(), response);
        if (response.status !== 429 && response.status < 500) {
          if (last !== undefined)
            log(`${call.method} ${call.path} answered after ${((Date.now() - started) / 1000).toFixed(1)} s`);
          return response;
        }
        last = response;
        retryAfterMs = (response.retryAfterSeconds ?? 0) * 1000;
      } catch (error) {
        if (error instanceof CliError) throw error;
        if (!isSocketUnreachable(error) && !(error instanceof RequestTimeout))
          throw apiRefused(this.config.server, call, this.config.caFile, error);
        last = error;
      }
      const left = deadline - Date.now();
      if (left <= 0) throw apiUnreachable(this.config.server, call, retrySeconds, last);
      if (backoff === FIRST_BACKOFF_MS) {
        log(
          `the Kubernetes API at ${this.config.server} failed ${call.method} ${call.path} (${describeLast(last)}); retrying for up to ${retrySeconds} s`,
        );
      }
      await sleep(Math.min(left, Math.max(jittered(backoff), retryAfterMs)));
    }
  }

  /** Named for messages from the token the request used. */
  private serviceAccount(): string | undefined {
    try {
      return serviceAccountOf(readToken(this.config));
    } catch {
      return undefined;
    }
  }
}
