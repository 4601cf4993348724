import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ExportTraceServiceRequestSchema } from "../../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import { InstrumentationScopeSchema } from "../../gen/opentelemetry/proto/common/v1/common_pb.js";
import { ResourceSchema } from "../../gen/opentelemetry/proto/resource/v1/resource_pb.js";
import { ResourceSpansSchema, ScopeSpansSchema, Span_EventSchema, SpanSchema } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { attr, spansOf, toProtobuf } from "../../scripts/lib/traces.js";
import { maskedAgain } from "../../src/process/mask-again.js";
import { RedactSchema } from "../../src/tenants/processing-schema.js";
import { attributesOf, requestOf, spanWith } from "../support/traces.js";

const EMAIL = "alice@example.com";

/** A kept request: a resource, a scope and a span that hold an address in their own places, and a span that holds none. */
function keptRequest() {
  const holding = spanWith(`reset for ${EMAIL}`, [attr("note", `to ${EMAIL}`), attr("secret.token", "t-1")]);
  holding.events.push(create(Span_EventSchema, { name: `mailed ${EMAIL}`, attributes: [attr("to", EMAIL)] }));
  const clean = spanWith("lookup", [attr("note", "nothing here")]);
  const request = requestOf([holding, clean]);
  request.resourceSpans[0]!.resource!.attributes.push(attr("owner", EMAIL));
  request.resourceSpans[0]!.scopeSpans[0]!.scope = create(InstrumentationScopeSchema, {
    name: `lib of ${EMAIL}`,
    version: "1",
    attributes: [attr("maintainer", EMAIL)],
  });
  return request;
}

describe("kept spans masked again by a tenant's rules as they are now", () => {
  it("masks every resource, scope and span, keys first, and leaves a span it changes nothing in as it was kept", () => {
    const request = keptRequest();
    const kept = toProtobuf(request);
    const rules = RedactSchema.parse({ keys: [{ pattern: "secret.*" }], values: ["emails"] });

    const again = fromBinary(ExportTraceServiceRequestSchema, maskedAgain(kept, rules)!);

    const [resourceSpans] = again.resourceSpans;
    expect(attributesOf(resourceSpans!.resource!).owner).toBe("[REDACTED]");
    expect(resourceSpans!.scopeSpans[0]!.scope!.name).toBe("lib of [REDACTED]");
    expect(attributesOf(resourceSpans!.scopeSpans[0]!.scope!).maintainer).toBe("[REDACTED]");
    const [holding, clean] = spansOf(again);
    expect(holding!.name).toBe("reset for [REDACTED]");
    expect(attributesOf(holding!)).toEqual({ note: "to [REDACTED]" });
    expect(holding!.events.map((e) => [e.name, attributesOf(e).to])).toEqual([["mailed [REDACTED]", "[REDACTED]"]]);
    expect(toBinary(SpanSchema, clean!)).toEqual(toBinary(SpanSchema, spansOf(request)[1]!));
  });

  it("leaves out a resource or scope without spans, whose fields nothing masked, as ingest does for a tenant with rules", () => {
    const request = requestOf([spanWith("lookup", [attr("note", "nothing here")])]);
    request.resourceSpans.push(create(ResourceSpansSchema, { resource: create(ResourceSchema, { attributes: [attr("owner", EMAIL)] }) }));
    request.resourceSpans[0]!.scopeSpans.push(
      create(ScopeSpansSchema, { scope: create(InstrumentationScopeSchema, { name: `lib of ${EMAIL}` }) }),
    );

    const again = maskedAgain(toProtobuf(request), RedactSchema.parse({ values: ["emails"] }));

    expect(again).toBeDefined();
    expect(new TextDecoder().decode(again)).not.toContain(EMAIL);
    expect(spansOf(fromBinary(ExportTraceServiceRequestSchema, again!))).toEqual(spansOf(request));
  });

  it("gives nothing when the rules change nothing, or the tenant has none", () => {
    const kept = toProtobuf(requestOf([spanWith("lookup", [attr("note", "nothing here")])]));
    expect(maskedAgain(kept, RedactSchema.parse({ values: ["emails"] }))).toBeUndefined();
    expect(maskedAgain(toProtobuf(keptRequest()), RedactSchema.parse({}))).toBeUndefined();
  });
});
