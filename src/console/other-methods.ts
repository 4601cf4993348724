import type { Handler } from "hono";
import { otherMethods } from "../admin/other-methods.js";
import type { ConsoleEnv } from "./console-env.js";

/** The admin API's 405 for a method a console path does not take (src/admin/other-methods.ts), in the console's words. */
export function otherConsoleMethods(allow: string): Handler<ConsoleEnv> {
  return otherMethods<ConsoleEnv>(allow, "page in the console");
}
