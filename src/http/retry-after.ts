/**
 * An HTTP-date in any of its three forms (RFC 9110 §5.6.7): IMF-fixdate, RFC 850's, asctime's, a
 * one-digit day and UTC for GMT let by, as servers write them. Only these go to Date.parse, which
 * reads far more: `2400.5` as the year 2400, a wait past any cap.
 */
const HTTP_DATE =
  /^(?:[a-z]{3}, \d{1,2} [a-z]{3} \d{4} \d{2}:\d{2}:\d{2} (?:GMT|UTC)|[a-z]{6,9}, \d{1,2}-[a-z]{3}-\d{2} \d{2}:\d{2}:\d{2} (?:GMT|UTC)|[a-z]{3} [a-z]{3} [ \d]\d \d{2}:\d{2}:\d{2} \d{4})$/i;

/** `Retry-After` in seconds (RFC 9110 §10.2.3: delay-seconds or an HTTP-date); undefined when absent or unreadable. */
export function parseRetryAfter(header: string | null, now: number = Date.now()): number | undefined {
  if (!header) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  if (!HTTP_DATE.test(trimmed)) return undefined;
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
