import { hex } from "../encoding/bytes.js";
import type { IncomingResource, IncomingSpan, SpanFields } from "../otlp/incoming.js";
import { isRoot } from "../otlp/root.js";
import { type RelaySecrets, secretHeld } from "../tenants/credentials.js";
import { ParentSchema } from "../tenants/parent.js";
import type { StoredTenant } from "../tenants/schema.js";
import { stringAttribute } from "./attributes.js";
import { isRequestSpan } from "./caller-parent.js";
import { maskedText } from "./mask-values.js";
import { matches, type SpanInContext } from "./match.js";
import type { CompiledRedaction } from "./redact.js";
import type { SpanIdSet } from "./span-ids.js";

/**
 * Why a span's `braintrust.parent` may not be its trace's parent, or undefined when it may: it must be
 * of the shape Braintrust takes, hold no credential, pasted there by a slip, as it is or
 * percent-encoded (secretHeld, the check a tenant's own parent passes): one of the relay's own secrets
 * (an ingest token, the admin token, ENCRYPTION_KEY), or `apiKey`, the Braintrust key the spans go
 * with (a passthrough client's own); and hold nothing the tenant's value rules would mask, which the
 * tenant said must not reach Braintrust. As a parent it would go upstream in `x-bt-parent` (a
 * `project_name:` names a project Braintrust makes), into every attempt's log line, queue message and
 * dead letter as it is, never masked. No reason quotes the value, which may be the very credential.
 */
function callerParentRefusal(
  parent: string,
  apiKey: string | undefined,
  secrets: RelaySecrets,
  redaction: CompiledRedaction | undefined,
): string | undefined {
  if (!ParentSchema.safeParse(parent).success)
    return "not a parent: project_id:<id>, project_name:<name> or experiment_id:<id>, in printable ASCII";
  if (secretHeld(parent, apiKey, secrets) !== undefined) return "it holds a credential";
  if (redaction !== undefined && maskedText(parent, redaction) !== parent) return "the tenant's redact value rules would mask it";
  return undefined;
}

/** The spans of a request whose `braintrust.parent` was not taken, and why, each reason once, in the order they were met. */
export interface IgnoredParents {
  spans: number;
  reason: string;
}

/** A `braintrust.parent`'s rank: ahead of every route. */
const ATTRIBUTE_RANK = -1;

/** What a request's spans have said so far about where their trace goes. */
interface TraceEvidence {
  /** The first valid `braintrust.parent` among the trace's spans, when the tenant allows it. */
  fromAttribute: string | undefined;
  /** The index of the first route any of the trace's spans matches; routes.length when none. */
  route: number;
  /** Whether a span without a parent came: the trace's top span, which ends, so is exported, last. */
  rootless: boolean;
  /** The parents of the trace's gateway request spans with a parent; usually none. */
  requestParents: Uint8Array[] | undefined;
}

/**
 * What a request's spans say for a parent other than the default: a `braintrust.parent` (rank -1,
 * ahead of every route) or the first route they match (its place among the routes). Across requests
 * the lowest rank wins, the first seen on a tie (deliver/trace-routes.ts).
 */
export interface TraceCandidate {
  parent: string;
  rank: number;
}

/** Where a trace goes, as far as one request's spans can tell. */
export interface TraceVerdict {
  parent: string;
  /**
   * Whether these spans settle it, with what came before them: a valid `braintrust.parent`, a match of
   * the first route when no attribute could come ahead of it, or the trace's top span (its children
   * end, so are exported, before it). When not, an earlier or later request of the same trace may
   * still carry what beats them: a child matching the second route must not decide a trace whose top
   * span, exported later, matches the first.
   */
  decided: boolean;
  candidate?: TraceCandidate;
}

/**
 * Decides each trace's parent from its spans as they arrived, seen one at a time before anything
 * changes them. Traces stay whole: a trace goes where its first span carrying a valid
 * `braintrust.parent` says (when the tenant allows it), else to the first route any of its spans
 * matches, else to the tenant's default parent. Only a summary per trace is kept.
 */
export class TraceRouter {
  private readonly traces = new Map<string, TraceEvidence>();
  // Weak: a resource's fields are let go once its spans have been read.
  private readonly resourceFields = new WeakMap<IncomingResource, Map<string, unknown>>();
  private readonly ignored = { spans: 0, reasons: new Set<string>() };

  /**
   * `spanIds`: the request's span ids, every one added before `verdictOf` is asked; `apiKey`: the key
   * the spans go upstream with; `secrets`: the relay's own, which no parent may hold either;
   * `redaction`: the tenant's rules, whose value rules no parent may match.
   */
  constructor(
    private readonly tenant: Pick<StoredTenant, "parent" | "routes" | "parent_from_attribute">,
    private readonly spanIds: SpanIdSet,
    private readonly apiKey?: string,
    private readonly secrets: RelaySecrets = {},
    private readonly redaction?: CompiledRedaction,
  ) {}

  /** Takes in what the span says; returns its trace's key (the trace id, hex) for `verdictOf`. */
  observe({ fields: span, scope }: IncomingSpan): string {
    const key = hex(span.traceId);
    let evidence = this.traces.get(key);
    if (!evidence) {
      evidence = { fromAttribute: undefined, route: this.tenant.routes.length, rootless: false, requestParents: undefined };
      this.traces.set(key, evidence);
    }
    this.observeShape(evidence, span);
    if (evidence.fromAttribute !== undefined) return key;
    if (this.tenant.parent_from_attribute) {
      const parent = stringAttribute(span.attributes, "braintrust.parent");
      if (parent !== undefined) {
        const refusal = callerParentRefusal(parent, this.apiKey, this.secrets, this.redaction);
        if (refusal === undefined) {
          evidence.fromAttribute = parent;
          return key;
        }
        this.ignored.spans += 1;
        this.ignored.reasons.add(refusal);
      }
    }
    let resourceFields = this.resourceFields.get(scope.resource);
    if (!resourceFields) {
      resourceFields = new Map();
      this.resourceFields.set(scope.resource, resourceFields);
    }
    // Read only when a route asks for them: decoding a scope or resource is then paid once per request.
    const target: SpanInContext = {
      span,
      resourceFields,
      get scope() {
        return scope.scopeSpans.scope;
      },
      get resource() {
        return scope.resource.resourceSpans.resource;
      },
    };
    for (let i = 0; i < evidence.route; i++) {
      if (matches(this.tenant.routes[i]!.match, target)) {
        evidence.route = i;
        break;
      }
    }
    return key;
  }

  /** The spans whose `braintrust.parent` was not taken, for the operator's log; undefined when none was. */
  ignoredParents(): IgnoredParents | undefined {
    const { spans, reasons } = this.ignored;
    return spans === 0 ? undefined : { spans, reason: [...reasons].join("; ") };
  }

  /** The traces of every span observed, kept or not, in order of first appearance. */
  observedTraces(): Iterable<string> {
    return this.traces.keys();
  }

  /** Call once every span of the request has been observed: whether the top span is among them depends on all of them. */
  verdictOf(trace: string): TraceVerdict {
    const evidence = this.traces.get(trace);
    if (!evidence) return { parent: this.tenant.parent, decided: false };
    if (evidence.fromAttribute !== undefined) {
      return { parent: evidence.fromAttribute, decided: true, candidate: { parent: evidence.fromAttribute, rank: ATTRIBUTE_RANK } };
    }
    const route = this.tenant.routes[evidence.route];
    const unbeatable = evidence.route === 0 && !this.tenant.parent_from_attribute;
    const decided = unbeatable || this.hasTopSpan(evidence);
    if (!route) return { parent: this.tenant.parent, decided };
    return { parent: route.parent, decided, candidate: { parent: route.parent, rank: evidence.route } };
  }

  private observeShape(evidence: TraceEvidence, span: SpanFields): void {
    if (isRoot(span)) evidence.rootless = true;
    // The gateway's request spans (an MCP call only when it is a request of its own, of kind SERVER:
    // an agent's tool calls are exported before their AgentResponse) may continue a caller's W3C
    // `traceparent`, so have a parent the gateway never exports.
    else if (isRequestSpan(span)) {
      evidence.requestParents ??= [];
      evidence.requestParents.push(span.parentSpanId);
    }
  }

  /**
   * The top span is a span with no parent (its id empty or all zeros), or a request span whose parent
   * is not among the request's spans of its trace: the caller's span, which the gateway never sends.
   * A gateway span's own children end, so are exported, before it, so a request span's gateway parent
   * would arrive with it or later; see the README for that case.
   */
  private hasTopSpan(evidence: TraceEvidence): boolean {
    if (evidence.rootless) return true;
    return evidence.requestParents?.some((parent) => !this.spanIds.has(parent)) ?? false;
  }
}
