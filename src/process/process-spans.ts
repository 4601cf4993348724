import { clone, type DescMessage, fromBinary, type MessageShape, toBinary } from "@bufbuild/protobuf";
import type { KeyValue } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import { ResourceSpansSchema, ScopeSpansSchema, type Span, SpanSchema } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import type { IncomingResource, IncomingScope, IncomingSpan, LeftOut } from "../otlp/incoming.js";
import { type OutgoingHeader, type OutgoingScope, type OutgoingSpan, outgoingHeader } from "../otlp/outgoing.js";
import { hasZeroParent } from "../otlp/root.js";
import { editedSpanPieces, spanAsRoot } from "../otlp/span-edit.js";
import { assemble, isRange, type Piece, type Range, sizeOf, WireError } from "../otlp/wire.js";
import { addModelUsage, type ModelUsageCounts } from "../stats/counts.js";
import type { RelaySecrets } from "../tenants/credentials.js";
import { routesTraces } from "../tenants/routing.js";
import type { StoredTenant } from "../tenants/schema.js";
import { CallerParents } from "./caller-parent.js";
import { isAiSpan } from "./filter.js";
import { maskedText, maskValues, type OwnTexts, resourceTexts, scopeTexts, spanTexts } from "./mask-values.js";
import { newParseBudget } from "./raw-json.js";
import { type CompiledRedaction, compileRedaction, spanAttributeLists } from "./redact.js";
import { redactKeys } from "./redact-keys.js";
import { type IgnoredParents, TraceRouter, type TraceVerdict } from "./route.js";
import { SpanIdSet } from "./span-ids.js";
import { applyTranslation, type LlmUsage, type SpanTranslation, type TranslationOptions, translateSpan } from "./translate.js";

/** The spans of a request bound for one Braintrust parent, in the order they arrived. */
interface ParentBatch {
  parent: string;
  spans: OutgoingSpan[];
}

/** One trace of a request, with what the request's spans say about its parent. */
export interface RequestTrace extends TraceVerdict {
  /** The trace id, hex. */
  trace: string;
}

export interface ProcessedSpans {
  /** One per Braintrust parent. */
  batches: ParentBatch[];
  /** Whether any span differs from what arrived or was dropped, so the original bytes can no longer be sent. */
  changed: boolean;
  /** The model calls among the spans translation read, by model. */
  usage: Record<string, ModelUsageCounts>;
}

/** A routing tenant's request by trace, before its traces are settled: `ProcessedSpans` but for the batches. */
export interface RequestTraces extends Omit<ProcessedSpans, "batches"> {
  /** In order of first appearance. */
  traces: RequestTrace[];
  /**
   * Every span in the order it arrived, and beside it its trace: batches keep that order, as
   * `finish` does. No list per trace: a request may hold tens of thousands of one-span traces.
   */
  spans: OutgoingSpan[];
  traceOf: RequestTrace[];
  /** The model calls among `spans`, each by its place there: a trace's spans an object holds already count no calls again. */
  calls: ModelCall[];
  /** Spans whose `braintrust.parent` could not be their trace's parent, when any. */
  ignoredParents: IgnoredParents | undefined;
}

/** One model call translation read, and the place among a request's spans of the span it is in. */
interface ModelCall {
  at: number;
  usage: LlmUsage;
}

/** Model calls by the parent their spans went to, then by model. */
export type UsageByParent = Map<string, Record<string, ModelUsageCounts>>;

/**
 * Adds one model call into usage by model, in place: unpriced when it came without a cost but with
 * tokens, which Braintrust prices by the model's name; a call without tokens (the provider refused
 * it) has nothing to price, there or here.
 */
export function addModelCall(into: Record<string, ModelUsageCounts>, { model, promptTokens, completionTokens, costUsd }: LlmUsage): void {
  addModelUsage(into, model, {
    calls: 1,
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    cost_usd: costUsd,
    ...(costUsd === 0 && promptTokens + completionTokens > 0 ? { unpriced_calls: 1 } : {}),
  });
}

/**
 * Whether `SpanProcessor` leaves every request of this tenant as it came: no routes, no filter,
 * no redaction, no translation. Such a tenant's spans need not be decoded, only checked.
 */
export function leavesSpansAlone(tenant: StoredTenant): boolean {
  return !routesTraces(tenant) && !tenant.drop_non_ai_spans && !tenant.translate && !compileRedaction(tenant.redact);
}

/**
 * A tenant's processing, one span at a time: route → filter → redact keys → translate → mask
 * values. Routes are decided on the spans as they arrived; keys are redacted before translation,
 * so nothing is derived from them; values are masked after it, so the translated JSON is masked
 * too. Each span leaves as bytes (see otlp/outgoing.ts): the original range when nothing changed,
 * the original fields with translated attributes spliced in, or encoded anew: once redaction has
 * changed it, when it came as JSON, or when the wire check did not vouch for a translated span's
 * bytes. No I/O; the decoded span is not kept.
 */
export class SpanProcessor {
  private readonly router: TraceRouter | undefined;
  private readonly redaction: CompiledRedaction | undefined;
  private readonly translation: TranslationOptions | undefined;
  private readonly spans: OutgoingSpan[] = [];
  /** Made only for a translating tenant that does not keep callers' parents. */
  private readonly callerParents: CallerParents | undefined;
  /** The places among the spans sent of roots that came with a parent_span_id of zeros (see makeRoots). */
  private readonly zeroParents: number[] = [];
  /** Every span id of the request, for the router and for callers' parents, whichever the tenant has. */
  private readonly spanIds: SpanIdSet | undefined;
  /**
   * The ids of the spans sent, for callers' parents, where the filter drops some: a span whose parent
   * it dropped is left without one in Braintrust, as one whose parent never came.
   */
  private readonly sentIds: SpanIdSet | undefined;
  private readonly traces: string[] = [];
  // Weak: a scope's decoded fields are let go once its spans have been read.
  private readonly scopes = new WeakMap<IncomingScope, OutgoingScope>();
  private readonly resources = new WeakMap<IncomingResource, OutgoingHeader>();
  private changed = false;
  private readonly calls: ModelCall[] = [];
  /** The bytes of the spans kept so far, and of the resources and scopes they go under, as they will leave. */
  outgoingBytes = 0;

  /**
   * `source`: the request the spans' ranges are in; `vouched`: whether the wire check vouched for it,
   * so its ranges are framed as a field cursor reads them; `apiKey`: the Braintrust key they go with,
   * which no parent a span names may hold, nor any of `secrets`, the relay's own.
   */
  constructor(
    private readonly tenant: StoredTenant,
    private readonly source: Uint8Array,
    private readonly vouched = false,
    apiKey?: string,
    secrets: RelaySecrets = {},
  ) {
    const routes = routesTraces(tenant);
    const rootsCallersChildren = tenant.translate && !tenant.keep_caller_parent;
    const spanIds = routes || rootsCallersChildren ? new SpanIdSet() : undefined;
    this.spanIds = spanIds;
    this.redaction = compileRedaction(tenant.redact);
    this.router = spanIds && routes ? new TraceRouter(tenant, spanIds, apiKey, secrets, this.redaction) : undefined;
    const redaction = this.redaction;
    this.translation = tenant.translate
      ? {
          keepSourceAttributes: tenant.keep_source_attributes,
          ...(redaction && redaction.values.length > 0 ? { masked: (text: string) => maskedText(text, redaction) } : {}),
        }
      : undefined;
    this.sentIds = rootsCallersChildren && tenant.drop_non_ai_spans ? new SpanIdSet() : undefined;
    const parentsSent = this.sentIds ?? spanIds;
    this.callerParents = parentsSent && rootsCallersChildren ? new CallerParents(parentsSent) : undefined;
  }

  add(incoming: IncomingSpan): void {
    newParseBudget();
    const { range } = incoming;
    const { redaction, translation: options } = this;
    // The decoded span, with all done to it, when redaction edits it or it came as JSON (encoded
    // anew either way), decoded before anything reads it, so its fields are not read twice;
    // otherwise the span is only read, and its fields are all that is decoded.
    const span = redaction || range === undefined ? incoming.span : undefined;
    this.spanIds?.add(incoming.fields.spanId);
    const trace = this.router?.observe(incoming);
    const callerParent = this.callerParents?.parentOf(incoming.fields);
    if (this.tenant.drop_non_ai_spans && !isAiSpan(incoming.fields)) {
      this.changed = true;
      return;
    }
    this.sentIds?.add(incoming.fields.spanId);
    let rewritten = false;
    let translation: SpanTranslation | undefined;
    if (span) {
      rewritten = redaction ? redactKeys(spanAttributeLists(span), redaction) : false;
      translation = options && translateSpan(span, options);
      if (translation) applyTranslation(span, translation);
      if (redaction) {
        // Masking reads the metrics translation wrote: what translation parsed is let go by now.
        newParseBudget();
        rewritten = maskValues(spanAttributeLists(span), redaction, spanTexts(span)) || rewritten;
      }
    } else translation = options && translateSpan(incoming.fields, options);
    const edited =
      translation !== undefined &&
      (translation.added.length > 0 ||
        translation.removedKeys.size > 0 ||
        translation.removedEvents !== undefined ||
        translation.error !== undefined);
    let pieces: Piece[];
    if (range === undefined || rewritten) pieces = [toBinary(SpanSchema, span ?? incoming.span)];
    else if (translation && edited) pieces = this.editedPieces(incoming, range, translation, span);
    else pieces = [range];
    if (rewritten || edited) this.changed = true;
    const size = sizeOf(pieces);
    this.outgoingBytes += size;
    this.spans.push({ scope: this.outgoingScope(incoming.scope), pieces, size });
    if (translation?.usage) this.calls.push({ at: this.spans.length - 1, usage: this.maskedUsage(translation.usage) });
    if (trace !== undefined) this.traces.push(trace);
    if (callerParent) this.callerParents?.mayBecomeRoot(this.spans.length - 1, callerParent);
    if (hasZeroParent(incoming.fields)) this.zeroParents.push(this.spans.length - 1);
  }

  /**
   * Makes roots, their parent_span_id left out, of the roots sent with one of zeros and of the request
   * spans whose parent, the caller's, never came (see caller-parent.ts), from their outgoing bytes:
   * nothing else of them is kept until the request is read. Bytes the wire check did not vouch for
   * are decoded and encoded anew, as the decoding path's changed spans are.
   */
  private makeRoots(): void {
    for (const at of [...this.zeroParents, ...(this.callerParents?.orphans() ?? [])]) {
      const outgoing = this.spans[at]!;
      const bytes = assemble(this.source, outgoing.pieces);
      const readAsVouched = this.vouched || outgoing.pieces.every((piece) => !isRange(piece));
      const pieces = [
        readAsVouched ? spanAsRoot(bytes) : toBinary(SpanSchema, { ...fromBinary(SpanSchema, bytes), parentSpanId: new Uint8Array() }),
      ];
      this.spans[at] = { ...outgoing, pieces, size: sizeOf(pieces) };
      this.changed = true;
    }
  }

  /**
   * The spans of a tenant that does not route, all to its parent (one that routes takes
   * finishByTrace: where its traces go is decided across requests). `leftOut`: what the request
   * held that was never read (resources or scopes without spans), so never redacted: a tenant that
   * redacts must not send the request's own bytes, which still carry them, and no tenant may when
   * nothing checked them (receive/read-spans.ts).
   */
  finish(leftOut: LeftOut): ProcessedSpans {
    this.makeRoots();
    const batches = this.spans.length > 0 ? [{ parent: this.tenant.parent, spans: this.spans }] : [];
    return { batches, changed: this.changedWith(leftOut), usage: this.usage() };
  }

  /**
   * The span's own bytes with the translation spliced in; encoded anew when the wire check did not
   * vouch for them, from the span protobuf-es decoded: what the decoding path checked and redacted
   * is what it sends. `translated`: the decoded span with the translation applied, when there is one already.
   */
  private editedPieces(incoming: IncomingSpan, range: Range, translation: SpanTranslation, translated: Span | undefined): Piece[] {
    if (this.vouched) {
      try {
        return editedSpanPieces(this.source, range, translation, incoming.fields);
      } catch (err) {
        if (!(err instanceof WireError)) throw err;
      }
    }
    if (translated) return [toBinary(SpanSchema, translated)];
    const span = incoming.span;
    applyTranslation(span, translation);
    return [toBinary(SpanSchema, span)];
  }

  /**
   * A routing tenant's spans by trace, in order of first appearance, for deciding across requests
   * (deliver/trace-routes.ts); undefined for a tenant that does not route. `leftOut` as for `finish`.
   */
  finishByTrace(leftOut: LeftOut): RequestTraces | undefined {
    const router = this.router;
    if (!router) return undefined;
    this.makeRoots();
    const byTrace = new Map<string, RequestTrace>();
    const traceOf = this.traces.map((key) => {
      let trace = byTrace.get(key);
      if (!trace) {
        trace = { trace: key, ...router.verdictOf(key) };
        byTrace.set(key, trace);
      }
      return trace;
    });
    // A trace none of whose spans here were kept (drop_non_ai_spans) may still have been decided by
    // them, or matched a route (a provider call's span): that goes to its object all the same, for
    // the trace's spans that come before or after, as a decision or as a candidate its top span may beat.
    const spanless: RequestTrace[] = [];
    for (const key of router.observedTraces()) {
      if (byTrace.has(key)) continue;
      const verdict = router.verdictOf(key);
      if (verdict.decided || verdict.candidate) spanless.push({ trace: key, ...verdict });
    }
    const traces = [...byTrace.values(), ...spanless];
    return {
      traces,
      spans: this.spans,
      traceOf,
      calls: this.calls,
      changed: this.changedWith(leftOut),
      usage: this.usage(),
      ignoredParents: router.ignoredParents(),
    };
  }

  /**
   * A model call as the tenant's statistics name it: by its model as Braintrust shows it, masked by
   * the value rules (a fine-tuned model named after a client).
   */
  private maskedUsage(usage: LlmUsage): LlmUsage {
    const redaction = this.redaction;
    return redaction && redaction.values.length > 0 ? { ...usage, model: maskedText(usage.model, redaction) } : usage;
  }

  /** The request's model calls, by model. */
  private usage(): Record<string, ModelUsageCounts> {
    const usage: Record<string, ModelUsageCounts> = {};
    for (const call of this.calls) addModelCall(usage, call.usage);
    return usage;
  }

  private changedWith(leftOut: LeftOut): boolean {
    return this.changed || leftOut === "unchecked" || (leftOut === "checked" && this.redaction !== undefined);
  }

  /** The scope's bytes on the way out, worked out once per scope. */
  private outgoingScope(scope: IncomingScope): OutgoingScope {
    let outgoing = this.scopes.get(scope);
    if (!outgoing) {
      outgoing = {
        resource: this.outgoingResource(scope.resource),
        header: outgoingHeader(
          this.redacted(
            ScopeSpansSchema,
            () => scope.scopeSpans,
            scope.header,
            (c) => c.scope?.attributes,
            scopeTexts,
          ),
        ),
      };
      this.outgoingBytes += outgoing.header.size;
      this.scopes.set(scope, outgoing);
    }
    return outgoing;
  }

  private outgoingResource(resource: IncomingResource): OutgoingHeader {
    let outgoing = this.resources.get(resource);
    if (!outgoing) {
      outgoing = outgoingHeader(
        this.redacted(
          ResourceSpansSchema,
          () => resource.resourceSpans,
          resource.header,
          (c) => c.resource?.attributes,
          resourceTexts,
        ),
      );
      this.outgoingBytes += outgoing.size;
      this.resources.set(resource, outgoing);
    }
    return outgoing;
  }

  /**
   * A resource's or scope's own fields with the tenant's redaction applied to a copy (routes read
   * the original), encoded anew only when it changed something. `message`: the decoded fields,
   * asked for only by a tenant that redacts.
   */
  private redacted<Desc extends DescMessage>(
    desc: Desc,
    message: () => MessageShape<Desc>,
    header: Piece[],
    attributesOf: (copy: MessageShape<Desc>) => KeyValue[] | undefined,
    textsOf: (copy: MessageShape<Desc>) => OwnTexts,
  ): Piece[] {
    const redaction = this.redaction;
    if (!redaction) return header;
    const copy = clone(desc, message());
    const lists = [attributesOf(copy) ?? []];
    const removed = redactKeys(lists, redaction);
    if (!(maskValues(lists, redaction, textsOf(copy)) || removed)) return header;
    this.changed = true;
    return [toBinary(desc, copy)];
  }
}
