import { describe, expect, it } from "vitest";
import { runHeapCapped } from "../support/heap-capped.js";
import { attr, requestOf, spanWith, toProtobuf } from "../support/traces.js";

const MiB = 1024 * 1024;
const bodyWith = (output: string) => toProtobuf(requestOf([spanWith("s", [attr("tfy.output", output)])]));
const zeros = (bytes: number) => `${"0,".repeat(Math.floor(bytes / 2))}0`;

/**
 * A response's lists are read for the one item or the count translation needs, never kept item by
 * item: a `data` list of a few MiB of tiny items made as many views as it has items, and crashed an
 * isolate's 128 MiB heap (a `choices` list of the same size never did).
 */
describe("a response with a long list, under an isolate's heap", () => {
  it.each([
    ["a `choices` list of 4 MiB of numbers", `{"choices":[${zeros(4 * MiB)}]}`],
    ["a `data` list of 8 MiB of numbers", `{"data":[${zeros(8 * MiB)}]}`],
    ["an embedding of 8 MiB of numbers", `{"data":[{"object":"embedding","embedding":[${zeros(8 * MiB)}]}]}`],
  ])("%s completes", (_shape, output) => {
    expect(runHeapCapped(bodyWith(output), "protobuf", { translate: true })).toMatchObject({ outcome: "completed" });
  });
});
