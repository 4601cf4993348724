import type { Context, Handler } from "hono";
import { otherMethods } from "../admin/other-methods.js";
import type { ConsoleEnv } from "./console-env.js";

/** The admin API's 405 for a method a console path does not take (src/admin/other-methods.ts), in the console's words. */
export function otherConsoleMethods(allow: string): Handler<ConsoleEnv> {
  return otherMethods<ConsoleEnv>(allow, "page in the console");
}

/**
 * A GET of a form's address: a refused form's page is shown there, so that address is what the
 * browser shows, and is reloaded or copied. It opens the page the form is on, to send it from again.
 */
export function formPageOf(page: (c: Context<ConsoleEnv>) => string): Handler<ConsoleEnv> {
  return (c) => c.redirect(page(c), 303);
}
