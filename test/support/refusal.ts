import { RelayError } from "../../src/http/errors.js";

/** The RelayError a promise rejects with, as code and message; anything else fails the test. */
export async function refusal(promise: Promise<unknown>): Promise<{ code: string; message: string }> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof RelayError)) throw new Error(`expected a RelayError, got ${String(err)}`);
  return { code: err.code, message: err.message };
}
