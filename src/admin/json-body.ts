import type { Context } from "hono";
import type { AppEnv } from "../http/app-env.js";
import { RelayError } from "../http/errors.js";

/** An admin call's JSON body, or a 400 naming `body`: a schema then says what in it is wrong. */
export async function jsonBody(c: Context<AppEnv>): Promise<unknown> {
  try {
    return await c.req.json();
  } catch {
    throw new RelayError("invalid_field", "body: must be a JSON object", { field: "body" });
  }
}

/** An admin call's JSON body where one may be left out: none, or only white space, reads as `{}`. */
export async function optionalJsonBody(c: Context<AppEnv>): Promise<unknown> {
  const text = await c.req.text();
  if (text.trim() === "") return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new RelayError("invalid_field", "body: must be a JSON object, or none", { field: "body" });
  }
}
