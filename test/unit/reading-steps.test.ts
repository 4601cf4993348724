import { afterEach, describe, expect, it, vi } from "vitest";
import { requestOfSpans, WORST_SHAPES } from "../../scripts/lib/worst-shapes.js";
import type { OtlpFormat } from "../../src/otlp/format.js";
import { readSpans } from "../../src/receive/read-spans.js";
import { type Steps, TURN_BYTES, takingTurns } from "../../src/receive/turns.js";

/** Reads the body step by step: at each step's end, how many spans had been read and how far into the body the last of them ended. */
function stepsOf(body: Uint8Array, format: OtlpFormat): Array<{ spans: number; offset: number | undefined }> {
  let spans = 0;
  let offset: number | undefined;
  const steps = readSpans(body, format, ({ range }) => {
    spans++;
    offset = range?.end;
  });
  const ends: Array<{ spans: number; offset: number | undefined }> = [];
  while (!steps.next().done) ends.push({ spans, offset });
  return ends;
}

/** About 1.5 MiB of spans of 20,000 empty attributes each, 40 KB (protobuf) or 60 KB (JSON) a span. */
const largeRequest = (format: OtlpFormat) =>
  requestOfSpans(WORST_SHAPES[format === "json" ? "tiny attributes, JSON" : "tiny attributes"]!, 40);

describe("reading a request in steps", () => {
  it("makes the scan of a large protobuf body a step of its own, then ends one each time the spans read reach 128 KiB further", () => {
    const body = largeRequest("protobuf");
    const [scan, ...ends] = stepsOf(body, "protobuf");

    expect(scan).toEqual({ spans: 0, offset: undefined });
    expect(ends.length).toBeGreaterThan(5);
    let stepStart = 0;
    for (const { offset } of ends) {
      // A step ends with the span that reached the mark, so runs past it by less than one span.
      expect(offset! - stepStart).toBeGreaterThanOrEqual(TURN_BYTES);
      expect(offset! - stepStart).toBeLessThan(TURN_BYTES + 40_100);
      stepStart = offset!;
    }
    expect(body.byteLength - stepStart).toBeLessThan(TURN_BYTES + 40_100);
  });

  it("makes each pass over a large JSON body's whole text a step of its own, and laying out its resource another, then ends one every 128 KiB of spans", () => {
    const body = largeRequest("json");
    const ends = stepsOf(body, "json");
    const spanStride = Math.ceil(body.byteLength / 40);

    // Decoding the text, the request's layout, checking it is JSON; then the resource's layout, a pass for each level of its lists.
    expect(ends.slice(0, 4).map((end) => end.spans)).toEqual([0, 0, 0, 0]);
    const spansPerStep = ends.slice(4).map((end, i) => end.spans - ends[i + 3]!.spans);
    expect(spansPerStep.length).toBeGreaterThan(5);
    for (const spans of spansPerStep) expect(spans).toBe(Math.ceil(TURN_BYTES / spanStride));
  });

  it("reads a request under 128 KiB in one step, whatever its format", () => {
    const small = requestOfSpans(WORST_SHAPES["tiny attributes, JSON"]!, 2);
    expect(small.byteLength).toBeLessThan(TURN_BYTES);

    expect(stepsOf(small, "json")).toEqual([]);
    expect(stepsOf(requestOfSpans(WORST_SHAPES["tiny attributes"]!, 3), "protobuf")).toEqual([]);
  });
});

/** Work of `count` steps, each logged as `name` and its number when it runs. */
function* logged(log: string[], name: string, count: number): Steps<string> {
  for (let step = 1; step <= count; step++) {
    log.push(`${name}${step}`);
    if (step < count) yield;
  }
  return name;
}

describe("taking turns", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("lets other work run between a request's steps, and returns what the steps made", async () => {
    const log: string[] = [];
    // Another request's work is in the event loop, as a timer is: a promise resolved would not let it in.
    setTimeout(() => log.push("other"), 0);
    const first = takingTurns(logged(log, "a", 3));

    expect(await first).toBe("a");
    expect(log).toEqual(["a1", "other", "a2", "a3"]);
  });

  it("runs a second request's steps through while the first is paused part way, then the first's", async () => {
    const log: string[] = [];
    const first = takingTurns(logged(log, "a", 3));
    const second = takingTurns(logged(log, "b", 3));
    // The second, done, leaves the first's pause alone.
    const third = takingTurns(logged(log, "c", 2));

    await Promise.all([first, second, third]);
    expect(log).toEqual(["a1", "b1", "b2", "b3", "c1", "c2", "a2", "a3"]);

    // The first done, the next request to pause part way may.
    const fourth = takingTurns(logged(log, "d", 2));
    log.push("other");
    await fourth;
    expect(log.slice(8)).toEqual(["d1", "other", "d2"]);
  });

  it("lets the pause go when the steps fail", async () => {
    const log: string[] = [];
    function* failing(): Steps<never> {
      log.push("a1");
      yield;
      throw new Error("malformed");
    }

    await expect(takingTurns(failing())).rejects.toThrow("malformed");
    const next = takingTurns(logged(log, "b", 2));
    log.push("other");
    await next;
    expect(log).toEqual(["a1", "b1", "other", "b2"]);
  });

  it("takes a request paused for a minute to have gone, and lets another pause", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "Date"] });
    const log: string[] = [];
    // Not resumed for a minute: its timer does not run, as for a request the runtime dropped.
    const dropped = takingTurns(logged(log, "a", 2));
    vi.setSystemTime(Date.now() + 59_000);
    const withinTheMinute = takingTurns(logged(log, "b", 2));
    expect(log).toEqual(["a1", "b1", "b2"]);
    await withinTheMinute;

    vi.setSystemTime(Date.now() + 1_000);
    const past = takingTurns(logged(log, "c", 2));
    expect(log.slice(3)).toEqual(["c1"]);
    // Paused in its place, the next runs through.
    await takingTurns(logged(log, "d", 2));
    expect(log.slice(3)).toEqual(["c1", "d1", "d2"]);
    await vi.runOnlyPendingTimersAsync();
    await Promise.all([dropped, past]);
    expect(log.slice(3)).toEqual(["c1", "d1", "d2", "a2", "c2"]);
  });

  it("counts the minute from a request's last pause, not its first", async () => {
    vi.useFakeTimers({ toFake: ["Date"] });
    const log: string[] = [];
    const { promise: pausedAgain, resolve: pausingAgain } = Promise.withResolvers<void>();
    function* long(): Steps<void> {
      log.push("a1");
      yield;
      vi.setSystemTime(Date.now() + 59_000);
      log.push("a2");
      pausingAgain();
      yield;
      log.push("a3");
    }
    const running = takingTurns(long());
    await pausedAgain;
    expect(log).toEqual(["a1", "a2"]);

    vi.setSystemTime(Date.now() + 2_000);
    const next = takingTurns(logged(log, "b", 2));
    expect(log).toEqual(["a1", "a2", "b1", "b2"]);
    await Promise.all([running, next]);
  });
});
