import { describe, expect, it } from "vitest";
import { relayFetch } from "./support/relay.js";

describe("GET /healthz", () => {
  it("answers GET and HEAD with 200, without a token", async () => {
    const get = await relayFetch("/healthz");
    expect(get.status).toBe(200);
    expect(await get.json()).toEqual({ ok: true });

    const head = await relayFetch("/healthz", { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(await head.text()).toBe("");
  });

  it("answers any other method with 405 and Allow: GET, HEAD, not a 404 that calls the path wrong", async () => {
    for (const method of ["POST", "PUT", "DELETE", "OPTIONS", "PATCH"]) {
      const response = await relayFetch("/healthz", { method, body: method === "OPTIONS" ? undefined : "x" });
      expect(response.status).toBe(405);
      expect(response.headers.get("allow")).toBe("GET, HEAD");
      expect(await response.json()).toMatchObject({
        error: { code: "method_not_allowed", message: `no such route: ${method} /healthz (this path takes GET, HEAD)` },
      });
    }
  });
});
