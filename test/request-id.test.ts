import { fromBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { StatusSchema } from "../gen/google/rpc/status_pb.js";
import { toProtobuf, trueFoundryTrace } from "../scripts/lib/traces.js";
import { loggedWhile } from "./support/logs.js";
import { admin, createTenant, relayFetch, sendTraces } from "./support/relay.js";
import { standin } from "./support/standin.js";

const REQUEST_INFO = "type.googleapis.com/google.rpc.RequestInfo";

/** The request_id a protobuf google.rpc.Status carries in its RequestInfo detail (field 1, a string). */
function requestIdOfStatus(bytes: Uint8Array): string | undefined {
  const detail = fromBinary(StatusSchema, bytes).details.find((d) => d.typeUrl === REQUEST_INFO);
  return detail && new TextDecoder().decode(detail.value.subarray(2, 2 + detail.value[1]!));
}

describe("request ids", () => {
  it("name the request by its cf-ray in an OTLP error, JSON or protobuf, and in the admin API's errors", async () => {
    const tenant = await createTenant();

    const json = await sendTraces(tenant, "{", { contentType: "application/json", headers: { "cf-ray": "8f00aa11bb22cc33-FRA" } });
    const protobuf = await sendTraces(tenant, toProtobuf(trueFoundryTrace()), {
      bearer: "wrong",
      headers: { "cf-ray": "8f00aa11bb22cc34-FRA" },
    });
    const adminError = await relayFetch("/admin/tenants/no-such-tenant", {
      headers: { authorization: "Bearer wrong", "cf-ray": "8f00aa11bb22cc35-FRA" },
    });

    expect(json.status).toBe(400);
    expect(((await json.json()) as { details: unknown[] }).details).toContainEqual({
      "@type": REQUEST_INFO,
      requestId: "8f00aa11bb22cc33-FRA",
    });
    expect(protobuf.status).toBe(401);
    expect(requestIdOfStatus(new Uint8Array(await protobuf.arrayBuffer()))).toBe("8f00aa11bb22cc34-FRA");
    expect(((await adminError.json()) as { error: { request_id: string } }).error.request_id).toBe("8f00aa11bb22cc35-FRA");
  });

  it("make one up when there is no cf-ray, and put it in every log line of the request", async () => {
    const tenant = await createTenant();
    await standin.script(tenant.apiKey, [{ status: 400, body: "bad spans" }]);
    const { result: response, events: logged } = await loggedWhile(() => sendTraces(tenant, toProtobuf(trueFoundryTrace())));

    expect(response.status).toBe(200);
    const events = logged.filter((e) => e.tenant === tenant.id);
    expect(events.map((e) => e.event)).toEqual(["delivery_attempt", "dead_letter"]);
    expect(events[0]!.request_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(events[1]!.request_id).toBe(events[0]!.request_id);
  });

  it("is not added to a success", async () => {
    const tenant = await createTenant();
    const response = await admin("GET", `/tenants/${tenant.id}`);
    expect(await response.json()).not.toHaveProperty("request_id");
  });
});
