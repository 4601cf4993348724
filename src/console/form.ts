import type { Context } from "hono";
import { RelayError } from "../http/errors.js";
import type { ConsoleEnv } from "./console-env.js";

/**
 * A POSTed form's fields, read once and kept for the rest of the request. A body that is not the
 * form its Content-Type says (multipart without its boundary, or cut off before it) makes the
 * platform's parser throw a TypeError: the sender's mistake, a 400, not a bug.
 */
export async function formOf(c: Context<ConsoleEnv>) {
  try {
    return await c.req.parseBody();
  } catch (err) {
    if (!(err instanceof TypeError)) throw err;
    throw new RelayError(
      "malformed",
      "the form could not be read: its body is not the form its Content-Type says; send it from the console's own page",
    );
  }
}
