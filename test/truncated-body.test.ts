import { describe, expect, it } from "vitest";
import { spansOf, toProtobuf, trueFoundryTrace } from "../scripts/lib/traces.js";
import { loggedWhile } from "./support/logs.js";
import { createTenant, relayFetch, relayFetchWith, type TestTenant } from "./support/relay.js";
import { standin } from "./support/standin.js";
import { requestOf, rpcStatusOf } from "./support/traces.js";

/**
 * Bodies that end early: an upload whose connection fails midway, and one shorter than its
 * Content-Length. Two traces, cut after the first: a protobuf body cut between two fields decodes
 * as a smaller request, so only a check of the body itself tells it from a whole one.
 */
function twoTraces(): { whole: Uint8Array; first: Uint8Array } {
  const a = trueFoundryTrace();
  const b = trueFoundryTrace();
  return { whole: toProtobuf(requestOf([...spansOf(a), ...spansOf(b)])), first: toProtobuf(a) };
}

/** A body that gives `first`, then fails, as an upload does when the client's connection is reset; or ends. */
function endingAfter(first: Uint8Array, end: "fails" | "ends"): ReadableStream<Uint8Array> {
  let sent = false;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (!sent) controller.enqueue(first);
      else if (end === "fails") controller.error(new Error("connection reset by peer"));
      else controller.close();
      sent = true;
    },
  });
}

function ingest(tenant: TestTenant, body: ReadableStream<Uint8Array>, headers: Record<string, string> = {}): RequestInit {
  return {
    method: "POST",
    headers: { "content-type": "application/x-protobuf", authorization: `Bearer ${tenant.bearer}`, ...headers },
    body,
  };
}

describe("a request body that ends early", () => {
  it.each([
    ["with a Content-Length", true],
    ["sent in chunks", false],
  ])("an upload that fails midway, %s: 400 naming it, nothing forwarded, no relay failure logged", async (_framing, declared) => {
    const tenant = await createTenant();
    const { whole, first } = twoTraces();
    const headers: Record<string, string> = declared ? { "content-length": String(whole.byteLength) } : {};

    const { result: response, errors } = await loggedWhile(() =>
      relayFetchWith({}, `/t/${tenant.id}/v1/traces`, ingest(tenant, endingAfter(first, "fails"), headers)),
    );

    expect(response.status).toBe(400);
    expect((await rpcStatusOf(response)).message).toBe(
      "request body ended before it was read whole: the upload failed (connection reset by peer)",
    );
    expect(errors).toEqual([]);
    expect(await standin.received(tenant.apiKey)).toEqual([]);
  });

  it("a body shorter than its Content-Length: 400 naming both lengths, none of its spans forwarded", async () => {
    const tenant = await createTenant();
    const { whole, first } = twoTraces();

    const response = await relayFetch(
      `/t/${tenant.id}/v1/traces`,
      ingest(tenant, endingAfter(first, "ends"), { "content-length": String(whole.byteLength) }),
    );

    expect(response.status).toBe(400);
    expect((await rpcStatusOf(response)).message).toMatch(
      new RegExp(`^request body ended after \\d+ of the ${whole.byteLength} bytes its Content-Length declares$`),
    );
    expect(await standin.received(tenant.apiKey)).toEqual([]);
  });
});
