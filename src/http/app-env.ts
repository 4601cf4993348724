import type { Env } from "../env.js";

/** The one Hono environment type every sub-app shares. */
export interface AppEnv {
  Bindings: Env;
}
