/** `Retry-After` in seconds (RFC 9110 §10.2.3: delay-seconds or an HTTP-date); undefined when absent or unreadable. */
export function parseRetryAfter(header: string | null, now: number = Date.now()): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.ceil((date - now) / 1000));
}

/**
 * The Retry-After of a refusal whose cause passes in a moment (a failed Workers KV read, a queue or
 * Durable Object call that failed): short enough that an OTLP exporter still has time to send the
 * request again. The OpenTelemetry JS exporters give up at once when Retry-After is past what is
 * left of their export timeout (10 s by default, OTEL_EXPORTER_OTLP_TIMEOUT), and a refusal may
 * come after a first attempt upstream of up to UPSTREAM_TIMEOUT_MS (5 s).
 */
export const TRANSIENT_RETRY_AFTER_SECONDS = 2;
