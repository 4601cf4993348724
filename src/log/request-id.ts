import { AsyncLocalStorage } from "node:async_hooks";

/**
 * The id of the request (or queue batch) being handled, carried through every await, so each log
 * line and error body names it without passing it down every call: an operator goes from the id in
 * a client's error to that request's log lines.
 */
const requestIds = new AsyncLocalStorage<string>();

export function withRequestId<T>(id: string, work: () => T): T {
  return requestIds.run(id, work);
}

export function currentRequestId(): string | undefined {
  return requestIds.getStore();
}

/** Cloudflare's own id of the request (`cf-ray`, also in its dashboards) when present, else a new one. */
export function requestIdOf(headers: Headers): string {
  return headers.get("cf-ray") ?? crypto.randomUUID();
}
