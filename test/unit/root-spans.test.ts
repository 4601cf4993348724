import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { attr, spansOf } from "../../scripts/lib/traces.js";
import { hex } from "../../src/encoding/bytes.js";
import { hasZeroParent, isRoot } from "../../src/otlp/root.js";
import { relayed } from "../support/pipeline.js";
import { requestOf, spanWith } from "../support/traces.js";

describe("which span is its trace's root", () => {
  it("one whose parent_span_id is empty or all zeros; a single byte set makes it a child", () => {
    expect(isRoot({ parentSpanId: new Uint8Array() })).toBe(true);
    expect(isRoot({ parentSpanId: new Uint8Array(8) })).toBe(true);
    for (let i = 0; i < 8; i++) {
      const parent = new Uint8Array(8);
      parent[i] = 0x80;
      expect(isRoot({ parentSpanId: parent }), `byte ${i}`).toBe(false);
    }
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 8, maxLength: 8 }), (parent) => {
        expect(isRoot({ parentSpanId: parent })).toBe(parent.every((byte) => byte === 0));
      }),
      { seed: 3 },
    );
  });

  it("a root sent with a parent of zeros is one to send without it; a root without one and a child are not", () => {
    expect(hasZeroParent({ parentSpanId: new Uint8Array(8) })).toBe(true);
    expect(hasZeroParent({ parentSpanId: new Uint8Array() })).toBe(false);
    expect(hasZeroParent({ parentSpanId: new Uint8Array(8).fill(0xff) })).toBe(false);
  });

  it.each([
    ["nothing to change", { translate: false }, "protobuf"],
    ["nothing to change, from JSON", { translate: false }, "json"],
    ["translating, keeping callers' parents", { keep_caller_parent: true }, "protobuf"],
    ["redacting, encoded anew", { translate: false, redact: { values: ["emails"] } }, "protobuf"],
    ["routing", { translate: false, routes: [{ match: { field: "span_name", equals: "x" }, parent: "project_name:x" }] }, "protobuf"],
  ] as const)("leaves a parent of zeros out, and its child's parent as it came (%s)", (_tenant, settings, format) => {
    const root = spanWith("HTTP GET /chat", [], { parentSpanId: new Uint8Array(8) });
    const child = spanWith("Model: x", [attr("tfy.span_type", "Model")], { traceId: root.traceId, parentSpanId: root.spanId });

    const { requests } = relayed(requestOf([root, child]), settings, format);

    expect(requests.flatMap((r) => spansOf(r.request)).map((span) => [span.name, hex(span.parentSpanId)])).toEqual([
      ["HTTP GET /chat", ""],
      ["Model: x", hex(root.spanId)],
    ]);
  });
});
