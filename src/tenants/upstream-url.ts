import { fromHex, textOf } from "../encoding/bytes.js";
import { repeatable } from "../http/caller-text.js";

/**
 * A tenant's Braintrust base URL receives the tenant's API key, so it must not point the relay
 * at itself, at the platform's metadata service or at a private network. The WHATWG URL parser
 * has already turned decimal, hex and shortened IPv4 spellings into dotted quads, and IPv6 into
 * its canonical form, so the checks below see one spelling of each address.
 */
type UpstreamUrlCheck = { ok: true; url: string } | { ok: false; reason: string };

/** What an operator trying the relay against a local stand-in needs to know. */
const LOCAL_ONLY = " (http and local addresses are allowed only where ALLOW_INSECURE_UPSTREAM is true, for local development)";

export function checkUpstreamUrl(raw: string, allowInsecure: boolean): UpstreamUrlCheck {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: "must be an absolute URL such as https://api.braintrust.dev" };
  }
  if (url.protocol !== "https:" && !(allowInsecure && url.protocol === "http:")) {
    return { ok: false, reason: `must use https${url.protocol === "http:" ? LOCAL_ONLY : ""}` };
  }
  if (url.username || url.password) return { ok: false, reason: "must not carry credentials" };
  if (url.search || url.hash) return { ok: false, reason: "must not have a query or fragment" };
  if (!allowInsecure) {
    const problem = nonPublicHostReason(url.hostname);
    if (problem) return { ok: false, reason: `must be a public host: ${problem}${LOCAL_ONLY}` };
  }
  return { ok: true, url: `${url.origin}${url.pathname.replace(/\/+$/, "")}` };
}

/**
 * A base URL as a tenant is saved with it: checkUpstreamUrl's checks, and none of the endpoint
 * paths Braintrust's docs give, which the relay would add its own path to again. Only when saved:
 * before each delivery checkUpstreamUrl alone keeps a key from where it must not go, and a tenant
 * saved before a path was refused goes on as it was.
 */
export function checkBaseUrl(raw: string, allowInsecure: boolean): UpstreamUrlCheck {
  const check = checkUpstreamUrl(raw, allowInsecure);
  if (!check.ok) return check;
  const url = new URL(check.url);
  const refusal = endpointPathRefusal(url.origin, url.pathname.replace(/\/+$/, ""));
  return refusal ? { ok: false, reason: refusal } : check;
}

/** Where Braintrust takes OTLP traces, under its base URL (in lower case, as a path is compared with it). */
export const OTLP_PATH = "/otel/v1/traces";

/**
 * The URLs Braintrust's docs give for OTLP are its endpoint's (`…/otel/v1/traces`, TrueFoundry's own
 * Braintrust export) and its exporters' base (`…/otel`, OTEL_EXPORTER_OTLP_ENDPOINT): with the relay's
 * path added again, Braintrust answers 403, which reads as a key refused. The refusal names the base
 * URL to give instead, from the URL given, so an EU or self-hosted deployment's stays its own.
 */
function endpointPathRefusal(origin: string, path: string): string | undefined {
  const served = pathAsServed(path).toLowerCase();
  const suffix = [OTLP_PATH, "/otel"].find((s) => served.endsWith(s));
  if (suffix === undefined) return undefined;
  const said = `must be Braintrust's base URL, without ${suffix}: the relay adds ${OTLP_PATH}`;
  // Named from the path as given, when it ends so as written (not in escapes or doubled slashes),
  // and only when no host or path segment may be a pasted key.
  if (!path.toLowerCase().endsWith(suffix)) return said;
  const base = path.slice(0, -suffix.length);
  const host = new URL(origin).hostname;
  const shown = hostShown(host) === host && base.split("/").every((segment) => repeatable(segment, false));
  return shown ? `${said}, so give ${origin}${base}, not ${origin}${path}` : said;
}

/** A path as a server may read it: its escapes decoded (`%6Ftel`) and runs of slashes as one. */
function pathAsServed(path: string): string {
  return percentDecoded(path).replace(/\/+/g, "/").replace(/\/$/, "");
}

/**
 * A URL or its path with its escapes decoded, as a server reads them: each run of escapes as UTF-8
 * (a byte of none as U+FFFD), a `%` that starts no escape as it is. A stray `%` anywhere must not
 * leave the escapes beside it unread: a secret written in them would pass for other text.
 */
export function percentDecoded(text: string): string {
  return text.replace(ESCAPE_RUNS, (run) => textOf(fromHex(run.replaceAll("%", ""))));
}

const ESCAPE_RUNS = /(?:%[0-9a-f]{2})+/gi;

function nonPublicHostReason(hostname: string): string | undefined {
  const problem = nonPublicHostProblem(hostname);
  return problem && `${hostShown(hostname)} ${problem}`;
}

/**
 * The host as a refusal names it. A key pasted into the host (https://sk-…/, https://sk-….example.com/)
 * is not repeated: a name with a label longer than caller text is repeated whatever it holds is
 * given by its length. An IPv6 address is shown as it is.
 */
function hostShown(hostname: string): string {
  const shown = hostname.startsWith("[") || hostname.split(".").every((label) => repeatable(label, false));
  return shown ? hostname : `a name of ${hostname.length} characters`;
}

function nonPublicHostProblem(hostname: string): string | undefined {
  // Trailing dots name the same host ("localhost.." is localhost), so every one goes before the checks.
  const host = hostname.replace(/\.+$/, "").toLowerCase();
  if (host === "" || host.split(".").includes("")) return "is not a valid host name";
  if (host.startsWith("[")) return publicIpv6(host.slice(1, -1)) ? undefined : "is not a global IPv6 address";
  const v4 = parseIpv4(host);
  if (v4) return publicIpv4(v4) ? undefined : "is a private, loopback or reserved address";
  if (/(^|\.)(localhost|local|internal|localdomain|home\.arpa|lan)$/.test(host)) return "is a local name";
  if (!host.includes(".")) return "is not a fully qualified name";
  return undefined;
}

function parseIpv4(host: string): number[] | undefined {
  const match = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  return match ? match.slice(1).map(Number) : undefined;
}

// Special-purpose IPv4 ranges (RFC 6890 and successors), as [first octets, prefix length].
const NON_PUBLIC_V4: ReadonlyArray<readonly [number[], number]> = [
  [[0], 8],
  [[10], 8],
  [[100, 64], 10],
  [[127], 8],
  [[169, 254], 16],
  [[172, 16], 12],
  [[192, 0, 0], 24],
  [[192, 0, 2], 24],
  [[192, 88, 99], 24],
  [[192, 168], 16],
  [[198, 18], 15],
  [[198, 51, 100], 24],
  [[203, 0, 113], 24],
  [[224], 4],
  [[240], 4],
];

function publicIpv4(octets: number[]): boolean {
  const address = octets.reduce((acc, o) => acc * 256 + o, 0);
  return NON_PUBLIC_V4.every(([prefix, bits]) => {
    const network = [...prefix, 0, 0, 0, 0].slice(0, 4).reduce((acc, o) => acc * 256 + o, 0);
    const size = 2 ** (32 - bits);
    return Math.floor(address / size) !== Math.floor(network / size);
  });
}

/**
 * Only global unicast (2000::/3) is public. That one rule also refuses loopback, unspecified,
 * link-local, unique-local, multicast, IPv4-mapped and IPv4-compatible forms, and NAT64. Inside
 * 2000::/3, these special-purpose ranges IANA marks not globally reachable are refused as well:
 * documentation (2001:db8::/32, 3fff::/20), benchmarking (2001:2::/48), ORCHID (2001:10::/28), and
 * Teredo and 6to4, which embed an IPv4 address that may be private.
 */
function publicIpv6(address: string): boolean {
  const groups = parseIpv6(address);
  if (!groups) return false;
  const [g0 = 0, g1 = 0, g2 = 0] = groups;
  if ((g0 & 0xe000) !== 0x2000) return false;
  if (g0 === 0x2001 && (g1 === 0x0db8 || g1 === 0 || (g1 === 0x0002 && g2 === 0) || (g1 & 0xfff0) === 0x0010)) return false;
  if (g0 === 0x3fff && (g1 & 0xf000) === 0) return false;
  return g0 !== 0x2002;
}

function parseIpv6(address: string): number[] | undefined {
  const [head = "", tail, extra] = address.split("::");
  if (extra !== undefined) return undefined;
  const parse = (part: string) => (part === "" ? [] : part.split(":").map((g) => parseInt(g, 16)));
  const front = parse(head);
  const back = tail === undefined ? [] : parse(tail);
  const missing = 8 - front.length - back.length;
  if (missing < 0 || (tail === undefined && missing !== 0)) return undefined;
  const groups = [...front, ...new Array<number>(missing).fill(0), ...back];
  return groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : undefined;
}
