import { env } from "cloudflare:workers";
import { afterEach, describe, expect, it, vi } from "vitest";
import { spansOf, toProtobuf, trueFoundryTrace } from "../scripts/lib/traces.js";
import type { DeliveryMessage } from "../src/deliver/message.js";
import type { RelayEvent } from "../src/log/events.js";
import { failingBinding, recordingQueue } from "./support/bindings.js";
import { deadLettersOf } from "./support/dead-letters.js";
import { loggedWhile } from "./support/logs.js";
import { admin, createTenant, issueToken, sendTraces, sendTracesWith, type TestTenant, uniqueTenantId } from "./support/relay.js";
import { standin } from "./support/standin.js";
import { exportResponseOf, requestOf, rpcStatusOf, spanIdsOf, spanWith } from "./support/traces.js";

/** A stored-key tenant whose Braintrust key is `key`, and a token of it. */
async function tenantWithKey(key: string): Promise<{ id: string; bearer: string }> {
  const id = uniqueTenantId();
  const created = await admin("PUT", `/tenants/${id}`, {
    parent: `project_name:${id}`,
    braintrust: { api_url: env.STANDIN_URL, api_key: key },
  });
  expect(created.status).toBe(201);
  return { id, bearer: await issueToken(id) };
}

describe.concurrent("what the client is told when Braintrust refuses", () => {
  it("returns Braintrust's 401 and 403 to a passthrough client, whose key it is, and keeps nothing", async () => {
    const tenant = await createTenant({ mode: "passthrough" });
    const body = toProtobuf(trueFoundryTrace());

    const unknownKey = await sendTraces(tenant, body, { bearer: "sk-not-a-key-braintrust-knows" });
    await standin.script(tenant.apiKey, [{ status: 403, body: "Forbidden" }]);
    const forbidden = await sendTraces(tenant, body);

    expect(unknownKey.status).toBe(401);
    expect((await rpcStatusOf(unknownKey)).message).toBe('Braintrust answered 401: {"error":"Invalid API key"}');
    expect(forbidden.status).toBe(403);
    expect((await rpcStatusOf(forbidden)).message).toBe("Braintrust answered 403: Forbidden");
    expect(await deadLettersOf(tenant.id)).toEqual([]);
  });

  it("does not follow a redirect, which would carry the key to another host; the spans become a dead letter", async () => {
    const tenant = await createTenant();
    await standin.script(tenant.apiKey, [{ status: 307, headers: { location: "http://169.254.169.254/otel/v1/traces" } }]);

    const response = await sendTraces(tenant, toProtobuf(trueFoundryTrace()));

    expect(response.status).toBe(200);
    expect((await exportResponseOf(response)).partialSuccess?.errorMessage).toMatch(
      /Braintrust answered with a redirect \(307\), which the relay does not follow$/,
    );
    expect(await standin.attempts(tenant.apiKey)).toHaveLength(1);
    expect(await deadLettersOf(tenant.id)).toHaveLength(1);
  });

  it("never stores the key in a message Braintrust echoes back", async () => {
    const tenant = await createTenant();
    await standin.script(tenant.apiKey, [{ status: 400, body: `bad request from key ${tenant.apiKey}` }]);

    const response = await sendTraces(tenant, toProtobuf(trueFoundryTrace()));

    const message = (await exportResponseOf(response)).partialSuccess?.errorMessage ?? "";
    expect(message).toContain("bad request from key [redacted]");
    expect(message).not.toContain(tenant.apiKey);
    expect(JSON.stringify(await deadLettersOf(tenant.id))).not.toContain(tenant.apiKey);
  });

  it("never passes on or keeps a key an upstream echoes escaped or encoded, however its encoder writes the key's \" / \\ or <", async () => {
    const secret = crypto.randomUUID().replaceAll("-", "");
    const key = `sk-"relay"/\\<-${secret}`;
    const tenant = await tenantWithKey(key);
    const json = JSON.stringify(key).slice(1, -1);
    const forms = {
      json,
      slashes: json.replaceAll("/", "\\/"),
      // Go's encoding/json writes < as \u003c; Python's urllib.parse.quote keeps /; some encoders write hex in lower case.
      go: json.replaceAll("<", "\\u003c"),
      url: encodeURIComponent(key),
      python: encodeURIComponent(key).replaceAll("%2F", "/"),
      lower: encodeURIComponent(key).replace(/%[0-9A-F]{2}/g, (percent) => percent.toLowerCase()),
    };
    // A key the stand-in never issued: Braintrust's 400 is answered before it is checked.
    await standin.script(key, [
      {
        beforeChecks: true,
        status: 400,
        body: Object.entries(forms)
          .map(([name, form]) => `${name}: ${form}`)
          .join("\n"),
      },
    ]);

    const { result: response, events } = await loggedWhile(() => sendTraces(tenant, toProtobuf(trueFoundryTrace())));

    const message = (await exportResponseOf(response)).partialSuccess?.errorMessage ?? "";
    const redacted = Object.keys(forms).map((name) => `${name}: [redacted]`);
    expect(message).toContain(`Braintrust answered 400: ${redacted.join(" ")}`);
    const deadLetters = await deadLettersOf(tenant.id);
    expect(deadLetters).toHaveLength(1);
    const lines = events.filter((e) => e.tenant === tenant.id).map((e) => Object.values(e).join(" "));
    expect(lines.length).toBeGreaterThan(0);
    for (const kept of [message, deadLetters[0]!.reason, ...lines]) expect(kept).not.toContain(secret);
  });

  it("never keeps the start of a JSON-escaped key the 4 KiB read of the answer cuts", async () => {
    const secret = crypto.randomUUID().replaceAll("-", "");
    const key = `sk-${secret}${'"'.repeat(20)}`;
    const escaped = JSON.stringify(key).slice(1, -1);
    const tenant = await tenantWithKey(key);
    await standin.script(key, [{ beforeChecks: true, status: 400, body: `${"\u0000".repeat(4096 - (escaped.length - 1))}${escaped}` }]);

    const response = await sendTraces(tenant, toProtobuf(trueFoundryTrace()));

    expect((await exportResponseOf(response)).partialSuccess?.errorMessage).not.toContain(secret.slice(0, 8));
    expect(JSON.stringify(await deadLettersOf(tenant.id))).not.toContain(secret.slice(0, 8));
  });

  it("never keeps the start of a key that an echo puts across the end of what is read of the answer", async () => {
    const tenant = await createTenant();
    // Control characters run together into one space, so what follows them opens the reason; the
    // key starts 4 KiB less one character in, so the read ends just before its last character.
    const echo = `${"\u0000".repeat(4096 - (tenant.apiKey.length - 1))}${tenant.apiKey}`;
    await standin.script(tenant.apiKey, [{ status: 400, body: echo }]);

    const response = await sendTraces(tenant, toProtobuf(trueFoundryTrace()));

    const almostTheKey = tenant.apiKey.slice(0, -1);
    expect(response.status).toBe(200);
    expect((await exportResponseOf(response)).partialSuccess?.errorMessage).not.toContain(almostTheKey);
    expect(JSON.stringify(await deadLettersOf(tenant.id))).not.toContain(almostTheKey);
  });

  it("never passes on most of a key an upstream echoes cut short, broken by a line, or with a character escaped", async () => {
    const tenant = await createTenant();
    const key = tenant.apiKey;
    const middle = Math.floor(key.length / 2);
    const echoes = [
      `{"error": "invalid api key ${key.slice(0, -4)}..."}`,
      `invalid api key ${key.slice(0, middle)}\n${key.slice(middle)}`,
      `<html><body>bad key ${key.slice(0, middle)}&amp;${key.slice(middle + 1)}</body></html>`,
    ];
    await standin.script(
      key,
      echoes.map((body) => ({ status: 400, body })),
    );

    const answers = [];
    for (const _ of echoes) answers.push((await exportResponseOf(await sendTraces(tenant, toProtobuf(trueFoundryTrace())))).partialSuccess);
    const kept = JSON.stringify(await deadLettersOf(tenant.id));

    // Of the key, no more than eleven characters in a row: what is left around a redaction.
    const runs = Array.from({ length: key.length - 11 }, (_, i) => key.slice(i, i + 12));
    for (const answer of answers) {
      expect(answer?.errorMessage).toContain("[redacted]");
      for (const run of runs) expect(answer?.errorMessage).not.toContain(run);
    }
    for (const run of runs) expect(kept).not.toContain(run);
  });

  it("never passes on or keeps a key an upstream echoes in UTF-16, a NUL byte beside each of its characters", async () => {
    const tenant = await createTenant();
    const utf16 = (text: string) => [...text].map((c) => `${c}\u0000`).join("");
    await standin.script(tenant.apiKey, [
      { status: 400, headers: { "content-type": "text/plain; charset=utf-16le" }, body: utf16(`Authorization: Bearer ${tenant.apiKey}`) },
    ]);

    const { result: response, events } = await loggedWhile(() => sendTraces(tenant, toProtobuf(trueFoundryTrace())));

    const message = (await exportResponseOf(response)).partialSuccess?.errorMessage ?? "";
    expect(message).toContain("[redacted]");
    const kept = [message, ...(await deadLettersOf(tenant.id)).map((d) => d.reason), ...events.map((e) => JSON.stringify(e))];
    // Read with its spaces, or its NULs, taken out.
    for (const text of kept) expect(text.replace(/\s|\\u0000/g, "")).not.toContain(tenant.apiKey.slice(0, 12));
  });

  it("never passes on or keeps a key an upstream echoes in hex, in either case, as a byte dump shows it", async () => {
    const tenant = await createTenant();
    const hexOf = (text: string) => Array.from(new TextEncoder().encode(text), (b) => b.toString(16).padStart(2, "0")).join("");
    const echoes = [`header bytes: ${hexOf(`Bearer ${tenant.apiKey}`)}`, `KEY=${hexOf(tenant.apiKey).toUpperCase()}`];
    const { answers, kept: keptTexts } = await echoesKept(tenant, echoes);
    const kept = keptTexts.join("\n").toLowerCase();

    // Of the key's hex, no more than eleven digits in a row: what is left around a redaction.
    const digits = hexOf(tenant.apiKey);
    const runs = Array.from({ length: digits.length - 11 }, (_, i) => digits.slice(i, i + 12));
    expect(runs.filter((run) => kept.includes(run))).toEqual([]);
    expect(answers.filter((answer) => !answer.includes("[redacted]"))).toEqual([]);
  });

  it("never passes on or keeps a key an upstream echoes in hex a byte at a time, as hexdump and Wireshark show bytes", async () => {
    const tenant = await createTenant();
    const bytesOf = (text: string, upper: boolean) =>
      Array.from(new TextEncoder().encode(text), (b) => b.toString(16).padStart(2, "0")[upper ? "toUpperCase" : "toLowerCase"]());
    const echoes = [`bytes: ${bytesOf(`Bearer ${tenant.apiKey}`, false).join(" ")}`, `KEY=${bytesOf(tenant.apiKey, true).join(" ")}`];
    const { answers, kept: keptTexts } = await echoesKept(tenant, echoes);
    const kept = keptTexts.join("\n").toLowerCase();

    // Of the key's bytes, no more than three in a row: what is left around a redaction.
    const bytes = bytesOf(tenant.apiKey, false);
    const runs = Array.from({ length: bytes.length - 3 }, (_, i) => bytes.slice(i, i + 4).join(" "));
    expect(runs.filter((run) => kept.includes(run))).toEqual([]);
    expect(answers.filter((answer) => !answer.includes("[redacted]"))).toEqual([]);
  });

  it("never passes on or keeps a key an upstream echoes as xxd or hexdump show bytes: two a group, as they are or swapped, from either byte of a group", async () => {
    const tenant = await createTenant();
    const hex2 = (b: number) => b.toString(16).padStart(2, "0");
    // Offset, then the bytes two a group (hexdump's and od -x's words little-endian: swapped), then xxd's text column.
    const dump = (text: string, swapped: boolean) => {
      const bytes = new TextEncoder().encode(text);
      const lines: string[] = [];
      for (let at = 0; at < bytes.length; at += 16) {
        const row = bytes.subarray(at, at + 16);
        const groups: string[] = [];
        for (let i = 0; i < row.length; i += 2) {
          const pair = [hex2(row[i]!), row[i + 1] === undefined ? "" : hex2(row[i + 1]!)];
          groups.push(swapped ? pair[1]! + pair[0]! : pair[0]! + pair[1]!);
        }
        const column = swapped ? "" : `  ${String.fromCharCode(...row)}`;
        lines.push(`${at.toString(16).padStart(8, "0")}: ${groups.join(" ")}${column}`);
      }
      return lines.join("\n");
    };
    // "Bearer " puts the key's first byte second in its group; "Authorization: Bearer " first.
    const echoes = [false, true].flatMap((swapped) =>
      [`Bearer ${tenant.apiKey}`, `Authorization: Bearer ${tenant.apiKey}`].map((t) => dump(t, swapped)),
    );
    const { answers, kept } = await echoesKept(tenant, echoes);

    // What a reader reads back from the groups left, in either order: no twelve of the key's characters in a row.
    const readBack = (text: string, swapped: boolean) => {
      const groups = text.replaceAll("[redacted]", " ").match(/(?<![0-9a-f])(?:[0-9a-f]{4}|[0-9a-f]{2})(?![0-9a-f])/g) ?? [];
      const bytes = groups.flatMap((g) => {
        const pair = g.length === 2 ? [g] : [g.slice(0, 2), g.slice(2)];
        return (swapped ? pair.reverse() : pair).map((h) => Number.parseInt(h, 16));
      });
      return String.fromCharCode(...bytes);
    };
    const key = tenant.apiKey;
    const windows = Array.from({ length: key.length - 11 }, (_, i) => key.slice(i, i + 12));
    for (const text of kept)
      for (const swapped of [false, true])
        expect(windows.filter((w) => readBack(text, swapped).includes(w) || text.includes(w))).toEqual([]);
    expect(answers.filter((answer) => !answer.includes("[redacted]"))).toEqual([]);
  });

  it("never passes on or keeps a key an upstream echoes in base64, as a header dump shows the Authorization it was sent", async () => {
    const tenant = await createTenant();
    const key = tenant.apiKey;
    const base64 = (text: string) => btoa(text);
    const mime = base64(`Authorization: Bearer ${key}`).replace(/.{20}/g, "$&\r\n");
    // The key at each of base64's three offsets, in both alphabets, and wrapped into lines as MIME does.
    const echoes = [
      `{"echo": {"authorization": "${base64(`Bearer ${key}`)}"}}`,
      `seen: ${base64(key)}`,
      `seen: ${base64(`x${key}`)}`,
      `seen: ${base64(`${key}~~`).replaceAll("+", "-").replaceAll("/", "_")}`,
      `request headers:\r\n${mime}`,
    ];
    const { answers, kept } = await echoesKept(tenant, echoes);

    // Decoded, what is kept holds no nine bytes of the key in a row, at whatever offset the base64 was cut.
    const decoded = kept.flatMap((text) =>
      Array.from(text.matchAll(/[A-Za-z0-9+/_-]{4,}/g), ([run]) =>
        [0, 1, 2, 3].map((skip) => {
          const chars = run.slice(skip).replaceAll("-", "+").replaceAll("_", "/");
          return atob(chars.slice(0, chars.length - (chars.length % 4)));
        }),
      ).flat(),
    );
    const runs = Array.from({ length: key.length - 8 }, (_, i) => key.slice(i, i + 9));
    expect(runs.filter((run) => decoded.some((text) => text.includes(run)))).toEqual([]);
    expect(answers.filter((answer) => !answer.includes("[redacted]"))).toEqual([]);
  });
});

type AttemptLine = Extract<RelayEvent, { event: "delivery_attempt" }>;

/**
 * A passthrough tenant whose eval traces a route sends to a parent of their own: one gateway trace
 * (3 spans) for the default parent, one eval span for `project_name:evals`.
 */
/**
 * Each echo answered by the stand-in (400) to one request of the tenant's: the client's partial
 * success for each, and everything kept of them, those answers, the dead letters' reasons and the
 * log lines written.
 */
async function echoesKept(tenant: TestTenant, echoes: string[]): Promise<{ answers: string[]; kept: string[] }> {
  await standin.script(
    tenant.apiKey,
    echoes.map((body) => ({ status: 400, body })),
  );
  const { result: answers, events } = await loggedWhile(async () => {
    const messages = [];
    for (const _ of echoes)
      messages.push((await exportResponseOf(await sendTraces(tenant, toProtobuf(trueFoundryTrace())))).partialSuccess?.errorMessage ?? "");
    return messages;
  });
  const reasons = (await deadLettersOf(tenant.id)).map((d) => d.reason);
  return { answers, kept: [...answers, ...reasons, ...events.map((e) => JSON.stringify(e))] };
}

async function twoParents({ keyAccepted = true } = {}): Promise<{ tenant: TestTenant; body: Uint8Array; spansFor: Map<string, string[]> }> {
  const tenant = await createTenant({
    mode: "passthrough",
    config: { translate: false, routes: [{ match: { field: "span_name", prefix: "eval" }, parent: "project_name:evals" }] },
  });
  const gateway = trueFoundryTrace();
  const evalSpan = spanWith("eval: run 1", []);
  const spansFor = new Map([
    [tenant.parent, spanIdsOf(gateway)],
    ["project_name:evals", spanIdsOf(requestOf([evalSpan]))],
  ]);
  // Braintrust accepts the client's key once first: only then are a passthrough key's spans kept.
  if (keyAccepted) expect((await sendTraces(tenant, toProtobuf(trueFoundryTrace()))).status).toBe(200);
  return { tenant, body: toProtobuf(requestOf([...spansOf(gateway), evalSpan])), spansFor };
}

/** Sends with `queue` as the delivery queue; returns the answer and what was logged by the time it came. */
async function sendWithQueue(tenant: TestTenant, body: Uint8Array, queue: Queue<DeliveryMessage>) {
  const lines: string[] = [];
  vi.spyOn(console, "log").mockImplementation((line: unknown) => void lines.push(String(line)));
  vi.spyOn(console, "error").mockImplementation((line: unknown) => void lines.push(String(line)));
  const response = await sendTracesWith(tenant, body, { DELIVERY_QUEUE: queue });
  const logged = lines
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as RelayEvent)
    .filter((event) => "tenant" in event && event.tenant === tenant.id);
  vi.restoreAllMocks();
  const attempts = logged.filter((event): event is AttemptLine => event.event === "delivery_attempt");
  return { response, logged, attempts };
}

describe("a request to several parents: every delivery is accounted for, whatever its siblings got", () => {
  afterEach(() => vi.restoreAllMocks());

  it("one parent refuses the client's key, the other is slow then 503: the refused spans are reported, the others queued and delivered", async () => {
    const { tenant, body, spansFor } = await twoParents();
    await standin.script(tenant.apiKey, [
      { status: 403, body: "Forbidden" },
      { delayMs: 300, status: 503 },
    ]);
    const queue = recordingQueue<DeliveryMessage>(env.DELIVERY_QUEUE);

    const { response, attempts } = await sendWithQueue(tenant, body, queue);

    // Which parent drew the 403 depends on which request reached the stand-in first.
    expect(attempts).toHaveLength(2);
    const refused = attempts.find((a) => a.upstream_status === 403)!;
    const unavailable = attempts.find((a) => a !== refused)!;
    expect(refused.next).toBe("refuse_client");
    expect(unavailable).toMatchObject({ outcome: "retryable", next: "retry" });
    expect(unavailable.parent).not.toBe(refused.parent);
    expect(response.status).toBe(200);
    const partial = (await exportResponseOf(response)).partialSuccess;
    expect(partial?.rejectedSpans).toBe(BigInt(refused.spans));
    expect(partial?.errorMessage).toBe(
      `${refused.spans} spans for ${refused.parent} not kept, since Braintrust refused the client's key: Braintrust answered 403: Forbidden`,
    );
    expect(queue.sent.map((m) => m.body.parent)).toEqual([unavailable.parent]);
    const arrival = await standin.waitForSpans(tenant.apiKey, spansFor.get(unavailable.parent)!);
    expect(arrival.missing).toEqual([]);
    // The first request is the one that got the key accepted.
    expect(arrival.requests.map((r) => r.parent)).toEqual([tenant.parent, unavailable.parent]);
    expect(await deadLettersOf(tenant.id)).toEqual([]);
  });

  it("every parent refuses the client's key: 403 (or 401) once both were tried, and nothing is kept", async () => {
    const { tenant, body } = await twoParents();
    await standin.script(tenant.apiKey, [
      { status: 403, body: "Forbidden" },
      { delayMs: 300, status: 403, body: "Forbidden" },
    ]);
    const queue = recordingQueue<DeliveryMessage>(env.DELIVERY_QUEUE);

    const { response, attempts } = await sendWithQueue(tenant, body, queue);
    const unknownKey = await sendTraces(tenant, body, { bearer: "sk-not-a-key-braintrust-knows" });

    expect(response.status).toBe(403);
    expect((await rpcStatusOf(response)).message).toBe("Braintrust answered 403: Forbidden");
    expect(attempts.map((a) => a.next)).toEqual(["refuse_client", "refuse_client"]);
    expect(unknownKey.status).toBe(401);
    expect(queue.sent).toEqual([]);
    expect(await deadLettersOf(tenant.id)).toEqual([]);
  });

  it("one parent refuses the key and the other's spans cannot be queued: 503 with Retry-After once both settled", async () => {
    const { tenant, body } = await twoParents();
    await standin.script(tenant.apiKey, [
      { status: 403, body: "Forbidden" },
      { delayMs: 300, status: 503 },
    ]);
    const queue = failingBinding(env.DELIVERY_QUEUE, "sendBatch", "Queue sendBatch failed: queue unavailable");

    const { response, attempts, logged } = await sendWithQueue(tenant, body, queue);

    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("2");
    expect(attempts.map((a) => a.next).sort()).toEqual(["refuse_client", "retry"]);
    const unqueued = attempts.find((a) => a.next === "retry")!;
    expect(logged.filter((event) => event.event === "durable_store_failed")).toEqual([
      {
        event: "durable_store_failed",
        tenant: tenant.id,
        delivery_id: unqueued.delivery_id,
        error: "the queue refused 1 messages: Queue sendBatch failed: queue unavailable",
        request_id: expect.any(String),
      },
    ]);
    expect(JSON.stringify(logged)).not.toContain(tenant.apiKey);
    expect(await deadLettersOf(tenant.id)).toEqual([]);
  });

  it("one parent takes its spans and the other's cannot be queued: 503, and the request sent again delivers them all, the first parent's twice", async () => {
    const { tenant, body, spansFor } = await twoParents();
    await standin.script(tenant.apiKey, [{ parent: "project_name:evals", status: 503 }]);
    const queue = failingBinding(env.DELIVERY_QUEUE, "sendBatch", "Queue sendBatch failed: queue unavailable");

    const { response, attempts } = await sendWithQueue(tenant, body, queue);

    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("2");
    expect(Object.fromEntries(attempts.map((a) => [a.parent, a.next]))).toEqual({ [tenant.parent]: "done", "project_name:evals": "retry" });
    // The client sends the whole request again, as a 503 asks: the README's "delivery is at least once".
    expect((await sendTraces(tenant, body)).status).toBe(200);
    const gateway = spansFor.get(tenant.parent)!;
    const evals = spansFor.get("project_name:evals")!;
    const arrival = await standin.waitForSpans(tenant.apiKey, [...gateway, ...evals]);
    expect(arrival.missing).toEqual([]);
    expect(arrival.duplicates).toBe(gateway.length);
    expect(await deadLettersOf(tenant.id)).toEqual([]);
  });

  it("both parents hand back a key Braintrust has not accepted, each with its own Retry-After: the client waits the longer", async () => {
    const { tenant, body } = await twoParents({ keyAccepted: false });
    // The longer wait on the parent delivered second: the client must hear it whichever answered first.
    await standin.script(tenant.apiKey, [
      { parent: tenant.parent, status: 429, headers: { "retry-after": "3" } },
      { parent: "project_name:evals", status: 429, headers: { "retry-after": "40" } },
    ]);

    const response = await sendTraces(tenant, body);

    expect(response.status).toBe(503);
    expect(response.headers.get("retry-after")).toBe("40");
    expect((await standin.attempts(tenant.apiKey)).map((a) => a.status)).toEqual([429, 429]);
  });
});

/** An answer far past what an isolate (128 MB) could hold, streamed by the stand-in as it is read. */
const HUGE_ANSWER_BYTES = 160 * 1024 * 1024;

/** What the relay may have taken of it: what it reads, plus what the sockets between buffer. */
const READ_AT_MOST_BYTES = 16 * 1024 * 1024;

describe("an upstream's answer is read only as far as it is used", () => {
  afterEach(() => vi.restoreAllMocks());

  it("reads the start of a huge error body for the reason, and leaves the rest unread", async () => {
    const tenant = await createTenant();
    await standin.script(tenant.apiKey, [{ status: 400, headers: { "content-type": "text/plain" }, bodyBytes: HUGE_ANSWER_BYTES }]);

    const response = await sendTraces(tenant, toProtobuf(trueFoundryTrace()));

    expect(response.status).toBe(200);
    const reason = `Braintrust answered 400: ${"x".repeat(300)}…`;
    expect((await exportResponseOf(response)).partialSuccess?.errorMessage).toMatch(new RegExp(`${reason}$`));
    const [attempt] = await standin.attempts(tenant.apiKey);
    expect(attempt!.answeredBytes).toBeLessThan(READ_AT_MOST_BYTES);
    expect((await deadLettersOf(tenant.id)).map((d) => d.reason)).toEqual([reason]);
  });

  it("cuts the reason before a character its 300th would cut in half: no half of an emoji goes to the client, the dead letter or the log", async () => {
    const tenant = await createTenant();
    await standin.script(tenant.apiKey, [{ status: 400, body: `${"x".repeat(299)}😀 and more` }]);

    const { result: response, events } = await loggedWhile(() => sendTraces(tenant, toProtobuf(trueFoundryTrace())));

    expect(response.status).toBe(200);
    const reason = `Braintrust answered 400: ${"x".repeat(299)}…`;
    expect((await exportResponseOf(response)).partialSuccess?.errorMessage).toMatch(new RegExp(`${reason}$`));
    expect((await deadLettersOf(tenant.id)).map((d) => d.reason)).toEqual([reason]);
    expect(events.filter((e) => e.tenant === tenant.id && "reason" in e).map((e) => e.reason)).toEqual([reason, reason]);
  });

  it("puts the reason on one line however the answer breaks it: CR LF, NEL, the Unicode separators, and a terminal's escapes in C0 or C1", async () => {
    const tenant = await createTenant();
    await standin.script(tenant.apiKey, [{ status: 400, body: "bad\r\nrequest\u0085at\u2028span\u20290\u009b31mred\u001b[0m" }]);

    const { result: response, events } = await loggedWhile(() => sendTraces(tenant, toProtobuf(trueFoundryTrace())));

    expect(response.status).toBe(200);
    const reason = "Braintrust answered 400: bad request at span 0 31mred [0m";
    const message = (await exportResponseOf(response)).partialSuccess?.errorMessage ?? "";
    expect(message.slice(-reason.length)).toBe(reason);
    expect((await deadLettersOf(tenant.id)).map((d) => d.reason)).toEqual([reason]);
    expect(events.filter((e) => e.tenant === tenant.id && "reason" in e).map((e) => e.reason)).toEqual([reason, reason]);
  });

  it("counts spans Braintrust took as delivered when its answer is too large to read, and logs that its partial success is unknown", async () => {
    const tenant = await createTenant();
    const trace = trueFoundryTrace();
    await standin.script(tenant.apiKey, [{ bodyBytes: HUGE_ANSWER_BYTES }]);
    const queue = recordingQueue<DeliveryMessage>(env.DELIVERY_QUEUE);

    const { response, attempts } = await sendWithQueue(tenant, toProtobuf(trace), queue);

    expect(response.status).toBe(200);
    expect((await exportResponseOf(response)).partialSuccess).toBeUndefined();
    expect(attempts).toMatchObject([
      {
        outcome: "delivered",
        next: "done",
        reason: "Braintrust's answer is over 65536 bytes and was not read, so any spans it rejected are not known",
      },
    ]);
    expect((await standin.waitForSpans(tenant.apiKey, spanIdsOf(trace))).missing).toEqual([]);
    const [attempt] = await standin.attempts(tenant.apiKey);
    expect(attempt!.answeredBytes).toBeLessThan(READ_AT_MOST_BYTES);
    expect(queue.sent).toEqual([]);
    expect(await deadLettersOf(tenant.id)).toEqual([]);
  });
});
