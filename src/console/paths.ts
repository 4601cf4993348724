/**
 * Where the console's pages and forms live: `/admin/` itself, and everything else under
 * `/admin/console/`, so no console path is ever an admin API path.
 */
const BASE = "/admin/console";

/** One path segment: tenant ids are plain, but token and dead-letter ids come from forms. */
const segment = encodeURIComponent;

export const CONSOLE_PATHS = {
  home: "/admin/",
  login: `${BASE}/login`,
  logout: `${BASE}/logout`,
  style: `${BASE}/style.css`,
  stats: `${BASE}/stats`,
  deadLetters: `${BASE}/dead-letters`,
  replay: `${BASE}/dead-letters/replay`,
  tenants: `${BASE}/tenants`,
  tenant: (id: string) => `${BASE}/tenants/${segment(id)}`,
  deleteTenant: (id: string) => `${BASE}/tenants/${segment(id)}/delete`,
  tokens: (id: string) => `${BASE}/tenants/${segment(id)}/tokens`,
  revokeToken: (id: string, tokenId: string) => `${BASE}/tenants/${segment(id)}/tokens/${segment(tokenId)}/revoke`,
  deleteDeadLetter: (id: string) => `${BASE}/dead-letters/${segment(id)}/delete`,
} as const;
