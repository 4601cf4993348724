/**
 * Work before trust: the most CPU one request with a passthrough key Braintrust has not accepted
 * can cost the relay at the body limit such requests get (UNTRUSTED_MAX_BODY_BYTES). Hostile bodies
 * built to be cheap to send and dear to process, gzip-compressed as an attacker would send them,
 * go through what the ingest route runs before the upstream fetch: readBody, prepareDeliveries (a
 * routing tenant's traces planned as the request decides them, without its trace-routes call) and
 * the upstream body, for three tenant setups: the CPU time of one Node process (GC threads
 * included), the median of several rounds, each after a garbage collection.
 * The worst case is measured again at the full limit, once, for comparison.
 */

import { gzipSync } from "node:zlib";
import { create, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import {
  type ExportTraceServiceRequest,
  ExportTraceServiceRequestSchema,
} from "../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import type { AnyValueSchema, KeyValueSchema } from "../gen/opentelemetry/proto/common/v1/common_pb.js";
import type { SpanSchema } from "../gen/opentelemetry/proto/trace/v1/trace_pb.js";
import { deliveriesAlone } from "../scripts/lib/pipeline.js";
import { tenantRecord } from "../scripts/lib/tenants.js";
import { randomId, toOtlpJson } from "../scripts/lib/traces.js";
import { upstreamBody } from "../src/deliver/braintrust.js";
import { relayConfig } from "../src/env.js";
import { RelayError } from "../src/http/errors.js";
import type { OtlpFormat } from "../src/otlp/format.js";
import { type BodyLimits, readBody, UNTRUSTED_MAX_BODY_BYTES, untrustedBodyLimits } from "../src/receive/body.js";
import type { Tenant } from "../src/tenants/schema.js";
import { median } from "./median.js";

const MiB = 1024 * 1024;
const ROUNDS = 7;
const config = relayConfig({} as Env);
const credential = { mode: "passthrough", apiKey: "sk-bench-untrusted", trusted: false } as const;

/** A tenant that changes nothing (spans checked on the wire), the default (translation), and one with every stage on. */
const SETUPS = {
  "nothing to change": tenantRecord({ translate: false }),
  translation: tenantRecord({}),
  "every stage": tenantRecord({
    drop_non_ai_spans: true,
    redact: { keys: [{ pattern: "secret*" }, { pattern: "*.token", action: "replace" }], values: ["emails", "api_keys"] },
    routes: [
      { match: { field: "attributes.tfy.request.metadata.env", equals: "eval" }, parent: "experiment_id:evals" },
      {
        match: {
          any: [
            { field: "span_name", prefix: "Model" },
            { field: "resource.service.name", equals: "x" },
          ],
        },
        parent: "project_name:m",
      },
    ],
  }),
};

type Span = MessageInitShape<typeof SpanSchema>;
type KeyValue = MessageInitShape<typeof KeyValueSchema>;
type AnyValue = MessageInitShape<typeof AnyValueSchema>;

const text = (value: string): AnyValue => ({ value: { case: "stringValue", value } });
const tfy: KeyValue = { key: "tfy.span_type", value: text("Model") };
const span = (attributes: KeyValue[], name = "Model"): Span => ({ traceId: randomId(16), spanId: randomId(8), name, attributes });
const oneScope = (spans: Span[]) => create(ExportTraceServiceRequestSchema, { resourceSpans: [{ scopeSpans: [{ spans }] }] });

const list = (values: Record<string, AnyValue>): AnyValue => ({
  value: { case: "kvlistValue", value: { values: Object.entries(values).map(([key, value]) => ({ key, value })) } },
});
const members = <T>(count: number, make: (i: number) => T): T[] =>
  Array.from({ length: Math.max(1, Math.floor(count)) }, (_, i) => make(i));

function nested(depth: number): AnyValue {
  let value = text("x");
  for (let level = 0; level < depth; level++) value = { value: { case: "kvlistValue", value: { values: [{ key: "env", value }] } } };
  return value;
}

/** Hostile shapes, each a request of `n` units. */
const SHAPES: Record<string, (n: number) => ExportTraceServiceRequest> = {
  // Empty KeyValues: 2 bytes each on the wire, an object each decoded; the tfy.* one makes translation read them all.
  "one span, empty attributes": (n) => oneScope([span([tfy, ...Array.from({ length: n }, () => ({}))])]),
  // Attributes that the "every stage" tenant's redaction removes.
  "one span, redacted attributes": (n) => oneScope([span([tfy, ...Array.from({ length: n }, () => ({ key: "secret" }))])]),
  // Spans with valid ids and one tfy.* attribute: each translated and placed.
  "tiny spans": (n) => oneScope(Array.from({ length: n }, () => span([tfy]))),
  // A resource and a scope around every span.
  "tiny resources": (n) =>
    create(ExportTraceServiceRequestSchema, {
      resourceSpans: Array.from({ length: n }, () => ({ scopeSpans: [{ spans: [span([tfy])] }] })),
    }),
  // Key-value lists nested 30 deep where routing and translation read (tfy.request.metadata).
  "deep values": (n) => oneScope(Array.from({ length: n }, () => span([tfy, { key: "tfy.request.metadata", value: nested(30) }]))),
  // One word as long as the request: what a pattern tried from every character of it would read to its end each time.
  "one long word": (n) => oneScope([span([tfy, { key: "note", value: text("a".repeat(n)) }])]),
  // A prompt that is a JSON array of empty objects: parsed and written again by translation.
  "prompt of tiny JSON objects": (n) => oneScope([span([tfy, { key: "tfy.input", value: text(`[${"{},".repeat(n)}{}]`) }])]),
  // An attribute's key as long as its JSON of tiny members: each member's path, matched by key redaction, starts with it.
  "one long key over tiny JSON members": (n) =>
    oneScope([span([tfy, { key: "k".repeat(n), value: text(`{${'"a":0,'.repeat(n)}"a":0}`) }])]),
  // A Traceloop field as a key-value list under a long key, then as text: what is put flat beside the text is named by the key.
  "a Traceloop field under a long key, then as text": (n) =>
    oneScope([
      span([
        {
          key: "gen_ai.prompt.0.content",
          value: list({ ["k".repeat(n)]: list(Object.fromEntries(members(n / 16, (i) => [`m${i}`, text("x")]))) }),
        },
        { key: "gen_ai.prompt.0.content", value: text("x") },
      ]),
    ]),
  // One attribute repeated beside a long answer, each restating what the answer says.
  "repeated finish reasons beside a long output": (n) =>
    oneScope([
      span([
        tfy,
        { key: "tfy.output", value: text(JSON.stringify({ choices: [{ message: { role: "assistant", content: "a".repeat(n) } }] })) },
        ...members(
          n / 64,
          (): KeyValue => ({ key: "gen_ai.response.finish_reasons", value: { value: { case: "arrayValue", value: {} } } }),
        ),
      ]),
    ]),
  // Message events of a number beside one long message, each compared with it.
  "message events beside a long message": (n) =>
    oneScope([
      {
        traceId: randomId(16),
        spanId: randomId(8),
        name: "Model",
        attributes: [tfy, { key: "tfy.input", value: text(JSON.stringify({ messages: [{ role: "user", content: "c".repeat(n) }] })) }],
        events: members(n / 64, () => ({
          name: "gen_ai.user.message",
          attributes: [{ key: "content", value: { value: { case: "intValue", value: 1n } } }],
        })),
      },
    ]),
  // Keys of key-value lists that value masking makes one name, each told apart from the others.
  "e-mail addresses as the keys of lists": (n) =>
    oneScope(
      members(n / 1000, () => span([tfy, { key: "note", value: list(Object.fromEntries(members(1000, (i) => [`${i}@a.io`, text("")]))) }])),
    ),
  // An answer nested 250 lists deep beside a GenAI copy holding JSON: each level may be the copy's.
  "an answer nested 250 deep beside a copy": (n) =>
    oneScope([
      span([
        tfy,
        { key: "tfy.output", value: text(`${"[".repeat(250)}"${"a".repeat(n)}"${"]".repeat(250)}`) },
        {
          key: "gen_ai.output.messages",
          value: text(JSON.stringify([{ role: "assistant", parts: [{ type: "tool_call", arguments: { a: 1 } }] }])),
        },
      ]),
    ]),
};

/**
 * How each shape is sent: as protobuf, as protobuf whose first span is a root given a parent of
 * zeros (8 bytes an attacker adds to send a valid body down the decoding path instead of the wire
 * check's), and as JSON.
 */
const ENCODINGS: Record<string, { format: OtlpFormat; encode: (request: ExportTraceServiceRequest) => Uint8Array }> = {
  protobuf: { format: "protobuf", encode: (request) => toBinary(ExportTraceServiceRequestSchema, request) },
  "protobuf, decoded (a root's parent of zeros)": {
    format: "protobuf",
    encode: (request) => {
      const [first] = request.resourceSpans[0]!.scopeSpans[0]!.spans;
      first!.parentSpanId = new Uint8Array(8);
      return toBinary(ExportTraceServiceRequestSchema, request);
    },
  },
  json: { format: "json", encode: (request) => new TextEncoder().encode(JSON.stringify(toOtlpJson(request))) },
};

/** The body of the most units that fits in `limit` bytes: extrapolated from two small sizes, then trimmed. */
function largestWithin(
  limit: number,
  build: (n: number) => ExportTraceServiceRequest,
  encode: (r: ExportTraceServiceRequest) => Uint8Array,
) {
  const base = encode(build(1000)).byteLength;
  const perUnit = (encode(build(2000)).byteLength - base) / 1000;
  let n = Math.floor(1000 + (limit - base) / perUnit);
  for (;;) {
    const body = encode(build(n));
    if (body.byteLength <= limit) return body;
    n -= Math.ceil((body.byteLength - limit) / perUnit);
  }
}

interface Case {
  format: OtlpFormat;
  wire: Uint8Array;
  decompressed: number;
}

function caseOf(shape: string, encoding: string, limit: number): Case {
  const { format, encode } = ENCODINGS[encoding]!;
  const body = largestWithin(limit, SHAPES[shape]!, encode);
  return { format, wire: gzipSync(body, { level: 9 }), decompressed: body.byteLength };
}

/** What the ingest route does before the upstream fetch; a request over a limit is refused (413) part way, and that is its cost. */
async function ingest(c: Case, setup: Tenant, limits: BodyLimits): Promise<void> {
  const request = new Request("https://relay.test/t/bench/v1/traces", {
    method: "POST",
    body: c.wire.slice(),
    headers: { "content-encoding": "gzip" },
  });
  try {
    const body = await readBody(request, "gzip", limits);
    for (const delivery of deliveriesAlone(body, c.format, setup, credential, config)) upstreamBody(delivery.payload);
  } catch (err) {
    if (!(err instanceof RelayError)) throw err;
  }
}

/** Median CPU ms of `rounds` runs (after a warm-up when there are several). */
async function msFor(c: Case, setup: Tenant, limits: BodyLimits, rounds: number): Promise<number> {
  if (rounds > 1) await ingest(c, setup, limits);
  const times: number[] = [];
  for (let round = 0; round < rounds; round++) {
    (globalThis as { gc?: () => void }).gc?.();
    const start = process.cpuUsage();
    await ingest(c, setup, limits);
    const used = process.cpuUsage(start);
    times.push((used.user + used.system) / 1000);
  }
  return median(times);
}

const fmt = (n: number) => n.toFixed(1);

export async function untrustedBenchmark(): Promise<string> {
  const limits = untrustedBodyLimits(config);
  const lines = [
    `| shape | format | gzip KB | decompressed KB | ${Object.keys(SETUPS).join(" ms | ")} ms |`,
    `|---|---|---:|---:|${"---:|".repeat(Object.keys(SETUPS).length)}`,
  ];
  let worst = { ms: 0, shape: "", encoding: "protobuf", setup: "" };
  for (const shape of Object.keys(SHAPES)) {
    for (const encoding of Object.keys(ENCODINGS)) {
      const c = caseOf(shape, encoding, UNTRUSTED_MAX_BODY_BYTES);
      const row = [shape, encoding, fmt(c.wire.byteLength / 1024), fmt(c.decompressed / 1024)];
      for (const [setup, setupTenant] of Object.entries(SETUPS)) {
        const ms = await msFor(c, setupTenant, limits, ROUNDS);
        row.push(fmt(ms));
        if (ms > worst.ms) worst = { ms, shape, encoding, setup };
      }
      lines.push(`| ${row.join(" | ")} |`);
    }
  }
  const what = `${worst.shape}, ${worst.encoding}, tenant with ${worst.setup}`;
  const full = caseOf(worst.shape, worst.encoding, config.maxDecompressedBytes);
  const fullMs = await msFor(full, SETUPS[worst.setup as keyof typeof SETUPS], config, 1);
  lines.push(
    "",
    `Worst at ${UNTRUSTED_MAX_BODY_BYTES / MiB} MiB decompressed: **${fmt(worst.ms)} ms** (${what}).`,
    `The same at the full limit of ${config.maxDecompressedBytes / MiB} MiB (${fmt(full.wire.byteLength / 1024)} KB of gzip): ${fmt(fullMs)} ms, one round.`,
  );
  return lines.join("\n");
}

if (import.meta.filename === process.argv[1]) console.log(await untrustedBenchmark());
