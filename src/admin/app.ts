import { Hono } from "hono";
import type { AppEnv } from "../http/app-env.js";
import { deadLettersRoutes } from "./dead-letters-routes.js";
import { requireAdmin } from "./require-admin.js";
import { tenantsRoutes } from "./tenants-routes.js";
import { tokensRoutes } from "./tokens-routes.js";

/** Everything under /admin, behind the admin token. */
export const adminApp = new Hono<AppEnv>();

adminApp.use("*", requireAdmin());
adminApp.route("/tenants", tenantsRoutes);
adminApp.route("/tenants", tokensRoutes);
adminApp.route("/dead-letters", deadLettersRoutes);
