import { env } from "cloudflare:workers";
import { HTTPException } from "hono/http-exception";
import { describe, expect, it } from "vitest";
import { MAX_ADMIN_BODY_BYTES } from "../src/admin/limits.js";
import { adminErrorResponse, asRelayError, RelayError } from "../src/http/errors.js";
import { failingObject } from "./support/bindings.js";
import { loggedWhile } from "./support/logs.js";
import { ADMIN_TOKEN, admin, adminWith, createTenant, uniqueTenantId } from "./support/relay.js";

describe("Hono's errors and the relay's are one family", () => {
  it("a relay error is a Hono HTTPException with the status its code stands for", () => {
    const error = new RelayError("too_large", "request body is larger than the limit of 10 bytes");
    expect(error).toBeInstanceOf(HTTPException);
    expect(error.status).toBe(413);
  });

  it("a client error Hono throws keeps its status and message, with the code that status stands for", async () => {
    const error = asRelayError(new HTTPException(401, { message: "no credentials" }));
    expect(error).toMatchObject({ code: "unauthenticated", status: 401, message: "no credentials" });
    const response = adminErrorResponse(error);
    expect(response.headers.get("www-authenticate")).toBe('Bearer realm="relay"');
    expect(await response.json()).toEqual({ error: { code: "unauthenticated", message: "no credentials" } });
  });

  it("a client error with no code of its own is a bad request; a server error Hono throws is hidden", () => {
    expect(asRelayError(new HTTPException(418))).toMatchObject({
      code: "malformed",
      status: 400,
      message: "the request was refused (400)",
    });
    expect(asRelayError(new HTTPException(502, { message: "details of a bug" }))).toMatchObject({
      code: "internal",
      status: 500,
      message: "internal error",
    });
    expect(asRelayError(new HTTPException(500, { message: "details of a bug" }))).toMatchObject({
      code: "internal",
      status: 500,
      message: "internal error",
    });
  });

  it("an admin call a platform failure ends is answered 500 without its details, which an unhandled_error line keeps", async () => {
    const tenant = await createTenant();
    const reset = {
      TENANT_OBJECTS: failingObject(env.TENANT_OBJECTS, tenant.id, "statsReport", "Durable Object reset because its code was updated."),
    };

    const { result: response, lines, errors } = await loggedWhile(() => adminWith(reset, "GET", `/tenants/${tenant.id}/stats`));

    expect(response.status).toBe(500);
    const body = (await response.json()) as { error: { request_id: string } };
    expect(body).toEqual({ error: { code: "internal", message: "internal error", request_id: expect.any(String) } });
    expect(errors.filter((e) => e.request_id === body.error.request_id)).toEqual([
      { event: "unhandled_error", error: "Durable Object reset because its code was updated.", request_id: body.error.request_id },
    ]);
    expect(JSON.stringify([lines, errors])).not.toContain(ADMIN_TOKEN);
  });

  it("the admin API's body limit answers 413 in the admin API's own error shape, past the limit only", async () => {
    const id = uniqueTenantId();
    const atLimit = await admin("PUT", `/tenants/${id}`, " ".repeat(MAX_ADMIN_BODY_BYTES));
    const overLimit = await admin("PUT", `/tenants/${id}`, " ".repeat(MAX_ADMIN_BODY_BYTES + 1));

    // At the limit the body is read, and found not to be a tenant.
    expect(atLimit.status).toBe(400);
    expect(overLimit.status).toBe(413);
    expect(overLimit.headers.get("content-type")).toBe("application/json");
    expect(await overLimit.json()).toEqual({
      error: {
        code: "too_large",
        message: `admin request body is larger than the limit of ${MAX_ADMIN_BODY_BYTES} bytes`,
        request_id: expect.any(String),
      },
    });
  });

  it("the body limit comes after the admin token: a stranger's large body is refused as unauthenticated", async () => {
    const response = await admin("PUT", `/tenants/${uniqueTenantId()}`, " ".repeat(MAX_ADMIN_BODY_BYTES + 1), "wrong-token");
    expect(response.status).toBe(401);
  });
});
