import { type IncomingMessage, type Server, createServer } from 'node:http';

/**
 * An OTLP/HTTP trace receiver of the tests' own: it takes POST /v1/traces in either encoding an
 * exporter sends (http/json, or http/protobuf decoded with the protobuf definitions that
 * OpenTelemetry's own otlp-transformer package ships) and keeps every span it received.
 */

/** A received span, its ids in hex and its attributes as plain values. */
export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  /** '' for a root span. */
  readonly parentSpanId: string;
  readonly name: string;
  /** OTLP's SpanKind: 4 producer, 5 consumer. */
  readonly kind: number;
  /** OTLP's status code: 0 unset, 1 ok, 2 error. */
  readonly status: { readonly code: number; readonly message?: string };
  readonly attributes: Record<string, string | number | boolean>;
  readonly service: string;
  /** The encoding it came in: application/json or application/x-protobuf. */
  readonly contentType: string;
}

interface OtlpValue {
  stringValue?: string | null;
  intValue?: number | string | { toNumber(): number } | null;
  doubleValue?: number | null;
  boolValue?: boolean | null;
}
interface OtlpAttribute {
  key: string;
  value: OtlpValue;
}
interface OtlpSpan {
  traceId: string | Uint8Array;
  spanId: string | Uint8Array;
  parentSpanId?: string | Uint8Array;
  name: string;
  kind: number;
  status?: { code?: number; message?: string };
  attributes?: OtlpAttribute[];
}
interface OtlpRequest {
  resourceSpans?: { resource?: { attributes?: OtlpAttribute[] }; scopeSpans?: { spans?: OtlpSpan[] }[] }[];
}

export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  readonly problems: string[] = [];
  private readonly server: Server;

  private constructor() {
    this.server = createServer((request, response) => {
      void this.receive(request).then(
        (contentType) => {
          response.writeHead(200, { 'content-type': contentType });
          // An empty ExportTraceServiceResponse, in the request's encoding.
          response.end(contentType === 'application/json' ? '{}' : '');
        },
        (error: unknown) => {
          this.problems.push(String(error));
          response.writeHead(400).end();
        },
      );
    });
  }

  static async start(): Promise<OtlpReceiver> {
    const receiver = new OtlpReceiver();
    await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', resolve));
    return receiver;
  }

  /** OTEL_EXPORTER_OTLP_ENDPOINT for it. */
  get endpoint(): string {
    const { port } = this.server.address() as { port: number };
    return `http://127.0.0.1:${port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** The spans as lines: the trace's root first, each child indented under its parent. */
  print(spans: readonly ReceivedSpan[] = this.spans): string {
    const lines: string[] = [];
    const show = (span: ReceivedSpan, depth: number) => {
      const attributes = Object.entries(span.attributes)
        .map(([key, value]) => `${key}=${JSON.stringify(value)}`)
        .join(' ');
      const status = span.status.code === 2 ? ` ERROR(${span.status.message ?? ''})` : '';
      lines.push(
        `${'  '.repeat(depth)}${span.name} [trace ${span.traceId} span ${span.spanId} parent ${span.parentSpanId || '-'}]${status} ${attributes}`,
      );
      for (const child of spans.filter((s) => s.parentSpanId === span.spanId)) show(child, depth + 1);
    };
    const ids = new Set(spans.map((s) => s.spanId));
    for (const root of spans.filter((s) => !ids.has(s.parentSpanId))) show(root, 0);
    return lines.join('\n');
  }

  private async receive(request: IncomingMessage): Promise<string> {
    if (request.method !== 'POST' || request.url !== '/v1/traces')
      throw new Error(`unexpected ${String(request.method)} ${String(request.url)}`);
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const contentType = String(request.headers['content-type']).split(';')[0];
    let decoded: OtlpRequest;
    if (contentType === 'application/json') decoded = JSON.parse(body.toString('utf8')) as OtlpRequest;
    else if (contentType === 'application/x-protobuf') decoded = exportRequestType().decode(body) as OtlpRequest;
    else throw new Error(`unexpected content-type ${contentType}`);
    for (const resourceSpans of decoded.resourceSpans ?? []) {
      const service = String(attributesOf(resourceSpans.resource?.attributes)['service.name']);
      for (const scopeSpans of resourceSpans.scopeSpans ?? []) {
        for (const span of scopeSpans.spans ?? []) {
          this.spans.push({
            traceId: hex(span.traceId),
            spanId: hex(span.spanId),
            parentSpanId: hex(span.parentSpanId),
            name: span.name,
            kind: span.kind,
            status: { code: span.status?.code ?? 0, ...(span.status?.message && { message: span.status.message }) },
            attributes: attributesOf(span.attributes),
            service,
            contentType,
          });
        }
      }
    }
    return contentType;
  }
}

/** ExportTraceServiceRequest as @opentelemetry/otlp-transformer generates it from the OTLP .proto files. */
function exportRequestType(): { decode(body: Uint8Array): unknown } {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const root = require('@opentelemetry/otlp-transformer/build/src/generated/root');
  return root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest;
}

function hex(id: string | Uint8Array | null | undefined): string {
  if (id == null) return '';
  return typeof id === 'string' ? id : Buffer.from(id).toString('hex');
}

function attributesOf(attributes: OtlpAttribute[] | undefined): Record<string, string | number | boolean> {
  const result: Record<string, string | number | boolean> = {};
  for (const { key, value } of attributes ?? []) {
    // A protobuf message has null for the members of its oneof that are not set.
    const int = value.intValue;
    if (value.stringValue != null) result[key] = value.stringValue;
    else if (int != null) result[key] = typeof int === 'object' ? int.toNumber() : Number(int);
    else if (value.doubleValue != null) result[key] = value.doubleValue;
    else if (value.boolValue != null) result[key] = value.boolValue;
  }
  return result;
}
