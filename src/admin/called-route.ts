import type { Context } from "hono";

/**
 * The method and route a refusal names: the route's pattern (`/admin/tenants/:tenant`), never the
 * caller's path, where a token pasted by mistake would come back in the answer and in whatever logs
 * it. The method is one of the platform's closed list, never the caller's text. The console calls
 * the admin API in-process, without the /admin the Worker mounts it under.
 */
export function calledRoute(c: Context): string {
  const route = c.req.routePath;
  return `${c.req.method} ${route.startsWith("/admin") ? route : `/admin${route}`}`;
}
