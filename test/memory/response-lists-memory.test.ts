import { describe, expect, it } from "vitest";
import { runHeapCapped } from "../../scripts/lib/heap-capped.js";
import { attr, toProtobuf } from "../../scripts/lib/traces.js";
import { requestOf, spanWith } from "../support/traces.js";

const MiB = 1024 * 1024;
const bodyWith = (output: string) => toProtobuf(requestOf([spanWith("s", [attr("tfy.output", output)])]));
const zeros = (bytes: number) => `${"0,".repeat(Math.floor(bytes / 2))}0`;
/** Tiny members, one key repeated but the last: a reader that keeps each member keeps them all. */
const members = (bytes: number) => `${'"a":0,'.repeat(Math.floor(bytes / 6))}"z":0`;

/**
 * A response's lists and objects are read for the one item, the count or the few members translation
 * needs, never kept entry by entry: a `data` list of a few MiB of tiny items made as many views as it
 * has items, and an answer of a few MiB of tiny members as many pairs, and crashed an isolate's
 * 128 MiB heap (a `choices` list of the same size never did).
 */
describe("a response with a long list or many members, under an isolate's heap", () => {
  it.each([
    ["a `choices` list of 4 MiB of numbers", `{"choices":[${zeros(4 * MiB)}]}`],
    ["a `data` list of 8 MiB of numbers", `{"data":[${zeros(8 * MiB)}]}`],
    ["an embedding of 8 MiB of numbers", `{"object":"list","data":[{"object":"embedding","embedding":[${zeros(8 * MiB)}]}]}`],
    ["a first `data` item of 8 MiB of members", `{"object":"list","data":[{${members(8 * MiB)}}]}`],
    ["a body of 8 MiB of fields", `{"data":[],${members(8 * MiB)}}`],
  ])("%s completes", (_shape, output) => {
    expect(runHeapCapped(bodyWith(output), "protobuf", { translate: true })).toMatchObject({ outcome: "completed" });
  });
});
