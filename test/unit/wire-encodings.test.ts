import { type DescMessage, fromBinary, toBinary, toJson } from "@bufbuild/protobuf";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ExportTraceServiceRequestSchema } from "../../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import { toProtobuf, trueFoundryTrace } from "../../scripts/lib/traces.js";
import { WIRE_I32, WIRE_I64, WIRE_LEN, WIRE_VARINT } from "../../src/otlp/wire.js";
import { relayed } from "../support/pipeline.js";
import { variedRequest } from "../support/traces.js";

/**
 * protobuf lets an encoder write the same message many ways: fields in any order, a message field
 * in pieces (merged), a singular field more than once (the last wins), unknown fields anywhere,
 * varints longer than they need be. The relay reads and splices the bytes itself, so whatever way a
 * request was written, what it sends must be what it sends for protobuf-es's own encoding of it.
 */

/** A field as written: its value's bytes, or, for a message field, its own fields. */
interface WrittenField {
  no: number;
  wireType: number;
  value?: Uint8Array;
  fields?: WrittenField[];
}

/** Each message's fields with their type, so a field of the message can be written anew. */
const typeOf = new WeakMap<WrittenField[], DescMessage>();

function readVarint(bytes: Uint8Array, at: number): [bigint, number] {
  let value = 0n;
  for (let shift = 0n; ; shift += 7n) {
    const byte = bytes[at++]!;
    value |= BigInt(byte & 0x7f) << shift;
    if (byte < 0x80) return [value, at];
  }
}

/** A varint with `padding` more bytes than it needs (a continuation bit and a zero group each). */
function writeVarint(value: bigint, padding = 0): number[] {
  const out: number[] = [];
  let v = value;
  for (; v > 0x7fn; v >>= 7n) out.push(Number(v & 0x7fn) | 0x80);
  out.push(Number(v));
  for (let i = 0; i < padding; i++) {
    out[out.length - 1]! |= 0x80;
    out.push(0);
  }
  return out;
}

function messageOf(field: DescMessage["fields"][number] | undefined): DescMessage | undefined {
  if (field?.fieldKind === "message") return field.message;
  return field?.fieldKind === "list" && field.listKind === "message" ? field.message : undefined;
}

/** Well-formed bytes as fields, message fields read into theirs. */
function fieldsOf(desc: DescMessage, bytes: Uint8Array): WrittenField[] {
  const fields: WrittenField[] = [];
  typeOf.set(fields, desc);
  let at = 0;
  while (at < bytes.length) {
    const [tag, valueStart] = readVarint(bytes, at);
    const no = Number(tag >> 3n);
    const wireType = Number(tag & 7n);
    let start = valueStart;
    let end: number;
    if (wireType === WIRE_VARINT) end = readVarint(bytes, start)[1];
    else if (wireType === WIRE_I64) end = start + 8;
    else if (wireType === WIRE_I32) end = start + 4;
    else {
      const [length, after] = readVarint(bytes, start);
      start = after;
      end = after + Number(length);
    }
    at = end;
    const value = bytes.subarray(start, end);
    const message = messageOf(desc.fields.find((f) => f.number === no));
    fields.push(message && wireType === WIRE_LEN ? { no, wireType, fields: fieldsOf(message, value) } : { no, wireType, value });
  }
  return fields;
}

/** The fields written out, each tag, length and varint value padded when `pad` says so (a tag to 5 bytes at most). */
function written(fields: WrittenField[], pad: () => number): number[] {
  const out: number[] = [];
  for (const field of fields) {
    const tag = BigInt((field.no << 3) | field.wireType);
    out.push(...writeVarint(tag, Math.min(pad(), 5 - writeVarint(tag).length)));
    const bytes = field.fields ? written(field.fields, pad) : [...field.value!];
    if (field.wireType === WIRE_LEN) out.push(...writeVarint(BigInt(bytes.length), pad()), ...bytes);
    else if (field.wireType === WIRE_VARINT) {
      const value = readVarint(field.value!, 0)[0];
      out.push(...writeVarint(value, Math.min(pad(), 10 - writeVarint(value).length)));
    } else out.push(...bytes);
  }
  return out;
}

function copied(field: WrittenField): WrittenField {
  if (!field.fields) return { ...field };
  const fields = field.fields.map(copied);
  typeOf.set(fields, typeOf.get(field.fields)!);
  return { ...field, fields };
}

/** Every message's list of fields, the request's first. */
function messages(fields: WrittenField[]): WrittenField[][] {
  return [fields, ...fields.flatMap((f) => (f.fields ? messages(f.fields) : []))];
}

const SAMPLE_TEXTS = ["", "x", "tfy.span_type", "ChatCompletion", "user@example.com", "é🙂"];

/** A value for one of the message's fields, as an encoder of the schema might write it. */
function newField(desc: DescMessage, random: () => number): WrittenField {
  const field = desc.fields[Math.floor(random() * desc.fields.length)]!;
  const message = messageOf(field);
  if (message) {
    const fields: WrittenField[] = [];
    typeOf.set(fields, message);
    if (message.fields.length > 0 && random() < 0.7) fields.push(newField(message, random));
    return { no: field.number, wireType: WIRE_LEN, fields };
  }
  const scalar = field.fieldKind === "scalar" || (field.fieldKind === "list" && field.listKind === "scalar") ? field.scalar : undefined;
  const varint = (value: bigint) => ({ no: field.number, wireType: WIRE_VARINT, value: new Uint8Array(writeVarint(value)) });
  // Enums and other varints, a negative one (ten bytes) now and then.
  if (scalar === undefined) return varint(random() < 0.2 ? 2n ** 64n - 1n : BigInt(Math.floor(random() * 7)));
  const wireType =
    field.fieldKind === "list"
      ? WIRE_LEN
      : { 1: WIRE_I64, 6: WIRE_I64, 16: WIRE_I64, 2: WIRE_I32, 7: WIRE_I32, 15: WIRE_I32 }[scalar as number];
  if (wireType === WIRE_I64 || wireType === WIRE_I32)
    return { no: field.number, wireType, value: crypto.getRandomValues(new Uint8Array(wireType === WIRE_I64 ? 8 : 4)) };
  if (scalar === 9 || scalar === 12) {
    const value =
      scalar === 9
        ? new TextEncoder().encode(SAMPLE_TEXTS[Math.floor(random() * SAMPLE_TEXTS.length)])
        : crypto.getRandomValues(new Uint8Array([0, 8, 16, 3][Math.floor(random() * 4)]!));
    return { no: field.number, wireType: WIRE_LEN, value };
  }
  return varint(random() < 0.2 ? 2n ** 64n - 1n : BigInt(Math.floor(random() * 300)));
}

const SPAN_LEVEL = /\.(Span|KeyValue|AnyValue|Status|Span\.Event|InstrumentationScope|Resource)$/;

/** One change that keeps the bytes a request, most often in a span or what it holds. */
function change(request: WrittenField[], random: () => number): void {
  const all = messages(request);
  const deep = all.filter((fields) => SPAN_LEVEL.test(typeOf.get(fields)!.typeName));
  const pool = random() < 0.8 && deep.length > 0 ? deep : all;
  const fields = pool[Math.floor(random() * pool.length)]!;
  const at = Math.floor(random() * fields.length);
  const field = fields[at];
  const anywhere = () => Math.floor(random() * (fields.length + 1));
  const desc = typeOf.get(fields)!;
  if (!field) {
    if (desc.fields.length > 0) fields.push(newField(desc, random));
    return;
  }
  switch (Math.floor(random() * 6)) {
    case 0:
      fields.splice(anywhere(), 0, copied(field));
      return;
    case 1: {
      // A message field in two pieces, which a decoder merges into one.
      if (!field.fields || field.fields.length < 2) return;
      const cut = 1 + Math.floor(random() * (field.fields.length - 1));
      const [first, second] = [field.fields.slice(0, cut), field.fields.slice(cut)];
      for (const part of [first, second]) typeOf.set(part, typeOf.get(field.fields)!);
      fields.splice(at, 1, { ...field, fields: first }, { ...field, fields: second });
      return;
    }
    case 2: {
      const other = Math.floor(random() * fields.length);
      [fields[at], fields[other]] = [fields[other]!, field];
      return;
    }
    case 3:
      fields.splice(anywhere(), 0, { no: 1000 + Math.floor(random() * 50), wireType: WIRE_LEN, value: new Uint8Array([1, 2, 3]) });
      return;
    case 4: {
      // The same field again, later, with another value: the later one wins.
      if (!field.value) return;
      const value =
        field.wireType === WIRE_LEN
          ? new Uint8Array([0x7a, ...field.value])
          : field.wireType === WIRE_VARINT
            ? new Uint8Array(writeVarint(readVarint(field.value, 0)[0] + 1n))
            : field.value.map((byte) => byte ^ 1);
      fields.splice(at + 1 + Math.floor(random() * (fields.length - at)), 0, { ...field, value });
      return;
    }
    default:
      fields.splice(anywhere(), 0, newField(desc, random));
  }
}

/** What the relay sends upstream for the bytes: each request decoded, with its parent. */
function sentFor(bytes: Uint8Array, settings: Record<string, unknown>): unknown {
  return relayed(bytes, settings).requests.map(({ parent, request }) => ({
    parent,
    request: toJson(ExportTraceServiceRequestSchema, request),
  }));
}

const TENANTS: Record<string, Record<string, unknown>> = {
  "leaving spans alone": { translate: false },
  translating: {},
  "redacting by value and key": { redact: { values: ["emails"], keys: [{ pattern: "tfy.request.metadata" }] } },
  "dropping spans that are not about AI": { drop_non_ai_spans: true },
  routing: {
    routes: [
      { match: { field: "attributes.tfy.span_type", equals: "ChatCompletion" }, parent: "project_name:chat" },
      { match: { field: "span_name", prefix: "db" }, parent: "project_name:db" },
      { match: { field: "resource.service.name", equals: "svc-1" }, parent: "project_name:svc" },
      { match: { field: "scope_name", equals: "scope-1" }, parent: "project_name:scope" },
    ],
  },
  "parent from an attribute, keeping source attributes": { parent_from_attribute: true, keep_source_attributes: true },
};

describe("a request however its fields were written", () => {
  it("sends what protobuf-es's own encoding of it sends, for every kind of tenant", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 2 ** 30 }), fc.integer({ min: 1, max: 24 }), fc.boolean(), (seed, changes, gateway) => {
        let state = seed;
        const random = () => {
          state = (state * 1103515245 + 12345) % 2 ** 31;
          return state / 2 ** 31;
        };
        const original = gateway ? toProtobuf(trueFoundryTrace()) : toBinary(ExportTraceServiceRequestSchema, variedRequest(seed));
        const request = fieldsOf(ExportTraceServiceRequestSchema, original);
        for (let i = 0; i < changes; i++) change(request, random);
        const bytes = new Uint8Array(written(request, () => (random() < 0.1 ? Math.floor(random() * 4) : 0)));
        const canonical = toBinary(ExportTraceServiceRequestSchema, fromBinary(ExportTraceServiceRequestSchema, bytes));

        for (const [tenant, settings] of Object.entries(TENANTS))
          expect(sentFor(bytes, settings), tenant).toEqual(sentFor(canonical, settings));
      }),
      { seed: 31, numRuns: 100 },
    );
  }, 60_000);
});
