import { describe, expect, it } from "vitest";
import type { DeadLetter } from "../src/deliver/dead-letters.js";
import type { RequestDeliveryResult } from "../src/deliver/during-request.js";
import { RelayError } from "../src/http/errors.js";
import { clientAnswer } from "../src/ingest/client-answer.js";

const none = { rejectedSpans: 0n, errorMessage: "" };
const delivered: RequestDeliveryResult = { result: "delivered", parent: "project_name:p" };
const queued: RequestDeliveryResult = { result: "queued", spans: 3, parent: "project_name:p" };
const forbidden = new RelayError("forbidden", "Braintrust answered 403: Forbidden");
const unauthenticated = new RelayError("unauthenticated", "Braintrust answered 401: Invalid API key");
const refused = (spans: number, refusal = forbidden): RequestDeliveryResult => ({
  result: "refused",
  spans,
  parent: "project_name:evals",
  refusal,
});
const notKept: RequestDeliveryResult = {
  result: "not_kept",
  error: new RelayError("unavailable", "the relay could not queue them", { retryAfterSeconds: 10 }),
};
const deadLetter: DeadLetter = {
  id: "acme:d-1",
  tenant: "acme",
  parent: "project_name:prod",
  reason: "Braintrust answered 400: bad span",
  attempts: 1,
  spans: 2,
  bytes: 100,
  received_at: "",
  dead_lettered_at: "",
};

/** The error the client would be answered with, or undefined for a 200. */
function errorOf(results: RequestDeliveryResult[], spansWait = false): RelayError | undefined {
  try {
    clientAnswer(results, none, spansWait);
    return undefined;
  } catch (err) {
    return err as RelayError;
  }
}

describe("what the client is told once every delivery of its request has settled", () => {
  it("503 with Retry-After when any delivery was neither delivered nor kept, whatever its siblings did", () => {
    for (const siblings of [[delivered], [queued], [refused(3)], [refused(3), delivered]]) {
      const error = errorOf([...siblings, notKept]);
      expect(error?.status).toBe(503);
      expect(error?.options.retryAfterSeconds).toBe(10);
    }
  });

  it("the key's refusal when every delivery refused it, the first one's when they differ", () => {
    expect(errorOf([refused(1)])?.status).toBe(403);
    expect(errorOf([refused(1), refused(2)])).toBe(forbidden);
    expect(errorOf([refused(1, unauthenticated), refused(2)])).toBe(unauthenticated);
  });

  it("200 when every delivery refused the key but spans of the request wait for their trace's top span: they were kept", () => {
    expect(errorOf([refused(2)], true)).toBeUndefined();
    expect(clientAnswer([refused(2)], none, true)).toEqual({
      rejectedSpans: 2n,
      errorMessage:
        "2 spans for project_name:evals not kept, since Braintrust refused the client's key: Braintrust answered 403: Forbidden",
    });
  });

  it("200 when some deliveries refused the key: those spans are counted as rejected, and why", () => {
    const partial = clientAnswer(
      [refused(3), queued, { result: "dead_lettered", deadLetter }],
      { rejectedSpans: 1n, errorMessage: "1 span has an invalid trace id" },
      false,
    );
    expect(partial).toEqual({
      rejectedSpans: 6n,
      errorMessage:
        "1 span has an invalid trace id; " +
        "3 spans for project_name:evals not kept, since Braintrust refused the client's key: Braintrust answered 403: Forbidden; " +
        "2 spans kept as dead letter acme:d-1 for an operator to replay: Braintrust answered 400: bad span",
    });
  });

  it("says one span, not one spans", () => {
    expect(clientAnswer([refused(1), queued], none, false).errorMessage).toBe(
      "1 span for project_name:evals not kept, since Braintrust refused the client's key: Braintrust answered 403: Forbidden",
    );
  });

  it("200 with nothing rejected when every delivery was delivered or queued, or there was none", () => {
    expect(clientAnswer([delivered, queued], none, false)).toEqual(none);
    expect(clientAnswer([], { rejectedSpans: 2n, errorMessage: "invalid ids" }, false)).toEqual({
      rejectedSpans: 2n,
      errorMessage: "invalid ids",
    });
  });
});
