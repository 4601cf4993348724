import { describe, expect, it } from "vitest";
import { runHeapCapped } from "../../scripts/lib/heap-capped.js";
import { attr, toProtobuf } from "../../scripts/lib/traces.js";
import { relayConfig } from "../../src/env.js";
import { requestOf, spanWith } from "../support/traces.js";

/**
 * An attribute holding JSON nested deeper than the JSON reader reads (256 levels), beside millions of
 * `[]`: the reader gives up on it, and a key rule that could reach into it takes it whole, checked
 * as JSON only within the span's parse budget, never by building every `[]` at once.
 */
const limit = relayConfig({} as Env).maxDecompressedBytes;

function deepThenTiny(): string {
  const deep = `${"[".repeat(300)}${"]".repeat(300)}`;
  const count = Math.floor((limit - 4096) / 3);
  return `{"a":${deep},"b":[${Array(count).fill("[]").join(",")}]}`;
}

describe("a protobuf request at the default limits whose one attribute is deep JSON beside millions of empty lists, under a 128 MiB heap", () => {
  it.each([{ translate: false, redact: { keys: [{ pattern: "*.password" }] } }, { redact: { keys: [{ pattern: "*.password" }] } }])(
    "completes, for a key rule reaching into JSON (%o)",
    (settings) => {
      const body = toProtobuf(requestOf([spanWith("s", [attr("v", deepThenTiny())])]));

      const run = runHeapCapped(body, "protobuf", settings);

      expect(run, JSON.stringify(run).slice(0, 300)).toMatchObject({ outcome: "completed", spans: 1 });
    },
  );
});
