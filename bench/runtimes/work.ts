import { gzip } from "../../src/deliver/gzip.js";
import { objectMembers } from "../../src/encoding/json.js";
import type { SpanFields } from "../../src/otlp/incoming.js";
import { translateSpan } from "../../src/process/translate.js";
import { readSpans } from "../../src/receive/read-spans.js";
import { allAtOnce } from "../../src/receive/turns.js";
import { checkWire } from "../../src/receive/wire-check.js";
import type { Tenant } from "../../src/tenants/schema.js";
import { benchBody, type Coding, relayWork, SETUPS } from "../relay-run.js";

/**
 * The work the runtimes benchmark (bench/runtimes.ts) times twice, in Node and in workerd: the
 * relay's own work on a gateway batch, its parts, and operations it is made of. One module for
 * both, so each runtime runs the very same code.
 */

/** What one run is given: the gateway batch and a chat request's JSON, made in Node and sent to the Worker. */
export interface WorkInput {
  batch: Uint8Array;
  /** The batch gzip-compressed, as the gateway sends it. */
  gzipBatch: Uint8Array;
  chatRequest: Uint8Array;
}

/** One row of the table: `times` runs of `run` make one timing, a few hundred ms in Node. */
export interface Work {
  name: string;
  times: number;
  /** Returns the last run's result, so no run is optimised away. */
  run: (times: number, input: WorkInput) => Promise<number> | number;
}

/** A row timing the relay's own work on the batch, plain or gzip-compressed, read (and decompressed) once before its runs. */
function relayRow(name: string, times: number, coding: Coding, setup: Tenant): Work {
  return {
    name,
    times,
    run: async (runs, { batch, gzipBatch }) => {
      const body = await benchBody(coding === "gzip" ? gzipBatch : batch, coding);
      return repeat(runs, () => relayWork(body, setup));
    },
  };
}

const decoder = new TextDecoder();
const encoder = new TextEncoder();
const KEY = encoder.encode("tfy.model.metric.input_tokens");

/** Every span's fields as the relay reads them from a request the wire check vouched for. */
function spanFieldsOf(batch: Uint8Array): SpanFields[] {
  const fields: SpanFields[] = [];
  allAtOnce(readSpans(batch, "protobuf", (incoming) => fields.push(incoming.fields), { vouched: true, framed: true }));
  return fields;
}

function repeat(times: number, run: (i: number) => number): number {
  let last = 0;
  for (let i = 0; i < times; i++) last = run(i);
  return last;
}

const JS_LOOP = (bytes: Uint8Array) => {
  let sum = 0;
  for (let at = 0; at < bytes.length; at++) sum += bytes[at]!;
  return sum;
};

/** In the order the table shows them. */
export const WORK: Work[] = [
  relayRow(
    "relay, one parent: the 103 KB gateway batch, checked on the wire and sent on as it came",
    5_000,
    "identity",
    SETUPS["single parent"],
  ),
  relayRow("relay, translation: the same batch, translated and spliced", 500, "identity", SETUPS.translation),
  relayRow("relay, one parent: the same batch sent gzip-compressed (21 KB)", 5_000, "gzip", SETUPS["single parent"]),
  relayRow("relay, translation: the same batch sent gzip-compressed", 500, "gzip", SETUPS.translation),
  {
    name: "before any of the above: the plain batch taken in from a Request (readBody)",
    times: 5_000,
    run: async (times, { batch }) => {
      let length = 0;
      for (let i = 0; i < times; i++) {
        length = (await benchBody(batch, "identity")).bytes.byteLength;
      }
      return length;
    },
  },
  {
    name: "of which the copy of the batch the Request is given (Uint8Array slice)",
    times: 20_000,
    run: (times, { batch }) => repeat(times, () => batch.slice().byteLength),
  },
  {
    name: "the wire check: the batch",
    times: 2_000,
    run: (times, { batch }) => repeat(times, () => (checkWire(batch) ? 1 : 0)),
  },
  {
    name: "reading each span's ids, name and attributes from the batch's bytes",
    times: 1_000,
    run: (times, { batch }) => repeat(times, () => spanFieldsOf(batch).length),
  },
  {
    name: "translateSpan: each span so read (read beforehand)",
    times: 500,
    run: (times, { batch }) => {
      const spans = spanFieldsOf(batch);
      return repeat(times, () => {
        let added = 0;
        for (const span of spans) added += translateSpan(span, { keepSourceAttributes: false }).added.length;
        return added;
      });
    },
  },
  {
    name: "gzip: the batch, as UPSTREAM_COMPRESSION=gzip would send it translated",
    times: 300,
    run: (times, { batch }) => repeat(times, () => gzip(batch).byteLength),
  },
  {
    name: "the relay's JSON reader: the batch's first request body's members",
    times: 50_000,
    run: (times, { chatRequest }) => repeat(times, () => objectMembers(chatRequest)?.length ?? 0),
  },
  {
    name: "TextDecoder, then JSON.parse: the same request body",
    times: 50_000,
    run: (times, { chatRequest }) => repeat(times, () => Object.keys(JSON.parse(decoder.decode(chatRequest)) as object).length),
  },
  {
    name: "a JavaScript loop over the same request body's bytes",
    times: 100_000,
    run: (times, { chatRequest }) => repeat(times, () => JS_LOOP(chatRequest)),
  },
  {
    name: "TextDecoder: a 22-29 byte attribute key",
    times: 1_000_000,
    run: (times) => repeat(times, (i) => decoder.decode(KEY.subarray(0, 22 + (i & 7))).length),
  },
  {
    name: "TextEncoder: a 28-character attribute key",
    times: 1_000_000,
    run: (times) => repeat(times, (i) => encoder.encode(`tfy.model.metric.input_tok${i & 7}`).length),
  },
];
