import type { Context } from "hono";
import { adminApp } from "../admin/app.js";
import { isErrorCode, isRefusalReason, RelayError } from "../http/errors.js";
import { parseRetryAfter } from "../http/retry-after.js";
import type { ConsoleEnv } from "./console-env.js";
import { adminTokenOf } from "./guard.js";

/**
 * The admin API, called in-process with the admin token, exactly as the CLI calls it over HTTP: the
 * console has no way of its own to change or read anything, so its every action is validated,
 * stored and logged as the API's. A refusal comes back as the API's own error.
 */
export async function callAdmin<T>(
  c: Context<ConsoleEnv>,
  method: string,
  path: string,
  body?: unknown,
  headers?: Record<string, string>,
): Promise<T> {
  return (await requestAdmin<T>(c, method, path, body, headers)).body;
}

/** `callAdmin`, with the answer's ETag: a tenant's revision, for a form that saves only what it showed. */
export async function requestAdmin<T>(
  c: Context<ConsoleEnv>,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ body: T; etag: string | undefined }> {
  const response = await adminApp.request(
    path,
    {
      method,
      headers: { authorization: `Bearer ${adminTokenOf(c)}`, "content-type": "application/json", ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    },
    c.env,
    c.executionCtx,
  );
  if (response.status === 204) return { body: undefined as T, etag: undefined };
  const answer: unknown = await response.json();
  if (response.ok) return { body: answer as T, etag: response.headers.get("etag") ?? undefined };
  const error = (answer as { error?: { code?: unknown; message?: unknown; field?: unknown; reason?: unknown } }).error;
  // The page that shows the refusal says when to try again, as the API's answer did. (Not its Allow:
  // that names the API's methods, not the page's.)
  const retryAfter = parseRetryAfter(response.headers.get("retry-after"));
  throw new RelayError(
    isErrorCode(error?.code) ? error.code : "internal",
    typeof error?.message === "string" ? error.message : `the admin API answered ${response.status}`,
    {
      ...(typeof error?.field === "string" ? { field: error.field } : {}),
      ...(isRefusalReason(error?.reason) ? { reason: error.reason } : {}),
      ...(retryAfter === undefined ? {} : { retryAfterSeconds: retryAfter }),
    },
  );
}
