import type { Context } from "hono";
import type { AppEnv } from "../http/app-env.js";
import { RelayError } from "../http/errors.js";
import type { ConsoleSession } from "./session.js";

/** The console's Hono environment: the Worker's, plus the session its pages run in. */
export interface ConsoleEnv {
  Bindings: AppEnv["Bindings"];
  Variables: AppEnv["Variables"] & { session?: ConsoleSession };
}

/** The session of a page behind requireSession (src/console/guard.ts). */
export function sessionOf(c: Context<ConsoleEnv>): ConsoleSession {
  const session = c.get("session");
  if (!session) throw new RelayError("unauthenticated", "log in to the console first");
  return session;
}
