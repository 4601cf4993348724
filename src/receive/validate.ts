import type { Span, Span_Link } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { quoted, quotedUnlessSecret } from "../http/caller-text.js";

const MAX_REASONS = 3;

/**
 * OTLP requires a 16-byte trace id and an 8-byte span id, neither all zeros, a parent id that is
 * empty or 8 bytes, and links whose ids are empty or of those lengths. Spans that break this, or
 * that are past a span's limits (request-limits.ts, left out unread), are rejected one by one (OTLP
 * partial success), so the rest of the request still goes through.
 */
export class SpanRejections {
  accepted = 0;
  rejected = 0;
  private readonly reasons: { name: string; reason: string }[] = [];

  /** A span already known to be valid. */
  accept(): void {
    this.accepted++;
  }

  /** Whether the span may go on; when not, it is counted and its reason kept for the message. */
  admit(span: Pick<Span, "name" | "traceId" | "spanId" | "parentSpanId" | "links">): boolean {
    const reason = invalidSpanReason(span) ?? invalidLinksReason(span.links);
    if (reason === undefined) {
      this.accepted++;
      return true;
    }
    this.reject(span.name, reason);
    return false;
  }

  /** A span left out unread, named by its name as far as it could be read: counted, its reason kept for the message. */
  reject(name: string, reason: string): void {
    this.rejected++;
    if (this.reasons.length < MAX_REASONS) this.reasons.push({ name, reason });
  }

  /** For the client's partial_success.error_message, naming its own spans; empty when nothing was rejected. */
  get message(): string {
    return this.described(quoted);
  }

  /**
   * For the log line, which the tenant's redaction of spans never sees: a span's name may be a
   * prompt's, or hold what the tenant masks, so it is shown as `masked` leaves it (the tenant's value
   * rules), and quoted only when short, as a 400 quotes caller text.
   */
  loggedMessage(masked: (text: string) => string): string {
    return this.described((name) => quotedUnlessSecret(masked(name), false) ?? `of a name of ${name.length} characters`);
  }

  private described(named: (name: string) => string): string {
    if (this.rejected === 0) return "";
    const more = this.rejected > this.reasons.length ? ` (and ${this.rejected - this.reasons.length} more)` : "";
    const reasons = this.reasons.map(({ name, reason }) => `span ${named(name)}: ${reason}`);
    return `rejected ${this.rejected} of ${this.accepted + this.rejected} spans: ${reasons.join("; ")}${more}`;
  }
}

/** Why a span's ids break OTLP's rules, or undefined when they are fine. */
export function invalidSpanReason(span: Pick<Span, "traceId" | "spanId" | "parentSpanId">): string | undefined {
  if (!isId(span.traceId, 16)) return `trace_id must be 16 bytes and not all zero, got ${idLength(span.traceId)}`;
  if (!isId(span.spanId, 8)) return `span_id must be 8 bytes and not all zero, got ${idLength(span.spanId)}`;
  if (!isEmptyOr(span.parentSpanId, 8)) {
    return `parent_span_id must be empty or 8 bytes, got ${span.parentSpanId.byteLength} bytes`;
  }
  return undefined;
}

/**
 * Why a link's ids break OTLP's rules, or undefined when they are fine. All zeros are allowed:
 * OpenTelemetry's API records a link to an invalid context when it carries attributes or trace
 * state, SDKs export its ids as zero bytes, and the Collector writes them as empty.
 */
export function invalidLinkReason(link: Pick<Span_Link, "traceId" | "spanId">): string | undefined {
  if (!isEmptyOr(link.traceId, 16)) return `trace_id must be empty or 16 bytes, got ${link.traceId.byteLength} bytes`;
  if (!isEmptyOr(link.spanId, 8)) return `span_id must be empty or 8 bytes, got ${link.spanId.byteLength} bytes`;
  return undefined;
}

function invalidLinksReason(links: readonly Pick<Span_Link, "traceId" | "spanId">[]): string | undefined {
  for (const [i, link] of links.entries()) {
    const reason = invalidLinkReason(link);
    if (reason !== undefined) return `links[${i}].${reason}`;
  }
  return undefined;
}

function isEmptyOr(bytes: Uint8Array, length: number): boolean {
  return bytes.byteLength === 0 || bytes.byteLength === length;
}

/** An id as a refusal describes it: its length, and whether every byte is zero. */
function idLength(id: Uint8Array): string {
  return id.byteLength > 0 && id.every((byte) => byte === 0) ? `${id.byteLength} zero bytes` : `${id.byteLength} bytes`;
}

function isId(bytes: Uint8Array, length: number): boolean {
  if (bytes.byteLength !== length) return false;
  for (let i = 0; i < length; i++) if (bytes[i] !== 0) return true;
  return false;
}
