import { adminTokenMasked } from "../admin/require-admin.js";
import { NOTICE_PARAMETERS } from "./notices.js";

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

/** The pages a link may open, past the overview: a tenant's, the statistics, the dead letters. */
const LINKED_PAGE = new RegExp(`^(?:${BASE}/tenants/[^/]+|${BASE}/stats|${BASE}/dead-letters)$`);

/**
 * The page to open once logged in, from the address a link gave (`/admin/console/tenants/acme`, with
 * its query): only one of the console's own pages, never another site's, so a link to the login form
 * cannot send an operator anywhere else; undefined for the overview, where a login goes anyway. Nor
 * an address holding the admin token (pasted as a tenant id, which it can look like), as it is or
 * percent-encoded: it would be repeated in the login form's page and in two Locations. What a change
 * did (`done=revoked`, a replay's counts) is left out: only the change's own redirect says it, so a
 * link from another site, which comes without the session's cookie (SameSite=Strict) and so through
 * this form, cannot have the console confirm a revocation, a deletion or a replay nobody made.
 */
export function pageAfterLogin(address: unknown, env: { ADMIN_TOKEN?: string }): string | undefined {
  if (typeof address !== "string" || !address.startsWith("/") || address.length > 2048) return undefined;
  const url = new URL(address, "https://console.invalid");
  if (url.origin !== "https://console.invalid" || !LINKED_PAGE.test(url.pathname)) return undefined;
  for (const name of NOTICE_PARAMETERS) url.searchParams.delete(name);
  const page = `${url.pathname}${url.search}`;
  // The address as given too: re-serialising the query (`/` to %2F, `=` to %3D, a `+` kept as a space's)
  // leaves a base64 token in neither the page nor its form-decoding, yet plainly in its percent-decoding.
  const texts = [address, page].flatMap((text) => [text, decodedAddress(text), decodedAddress(text, false)]);
  return texts.some((text) => adminTokenMasked(text, env) !== text) ? undefined : page;
}

/**
 * An address with its percent-escapes undone, `+` as a query writes a space (or, `plusAsSpace` false,
 * left as it is); as it is where an escape is malformed.
 */
function decodedAddress(address: string, plusAsSpace = true): string {
  try {
    return decodeURIComponent(plusAsSpace ? address.replaceAll("+", " ") : address);
  } catch {
    return address;
  }
}

/** The login form, set to open `page` (pageAfterLogin) once logged in. */
export function loginPath(page: string | undefined): string {
  return page === undefined ? CONSOLE_PATHS.login : `${CONSOLE_PATHS.login}?${new URLSearchParams({ next: page })}`;
}
