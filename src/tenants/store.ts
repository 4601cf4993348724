import { relayConfig } from "../env.js";
import { RelayError } from "../http/errors.js";
import { TRANSIENT_RETRY_AFTER_SECONDS } from "../http/retry-after.js";
import { type AuthMode, authModeOf, type StoredTenant, StoredTenantSchema, type Tenant } from "./schema.js";

/** What `list` shows per tenant, kept as KV metadata so a page of tenants is one KV call. */
export interface TenantSummary {
  id: string;
  parent: string;
  auth: AuthMode;
}

const KEY_PREFIX = "tenant:";

/**
 * Tenant reads happen on every ingest request, so they are cached twice: in this isolate for a
 * few seconds, and at the Cloudflare edge by KV's `cacheTtl`. Writes through this store clear
 * the isolate's entry; other isolates see a change once both caches expire.
 */
const ISOLATE_CACHE_MS = 5_000;
export const ISOLATE_CACHE_MAX_ENTRIES = 10_000;
const isolateCache = new Map<string, { tenant: Tenant | undefined; expiresAt: number }>();
/**
 * How many changes this isolate has made to tenants. A read of KV under way when one is made may
 * answer with the record as it was: it is returned to its request, which began before the change,
 * but not cached, where it would serve a revoked token or a deleted tenant for the cache's time (and
 * for as long as KV then fails). Any tenant's change counts: one read not cached costs little.
 */
let changesMade = 0;
/** KV's own propagation to every location: usually within 60 s (docs/cloudflare-limits.md). */
const KV_PROPAGATION_SECONDS = 60;

/** The KV replica of the Worker's tenants, read through both caches as TENANT_CACHE_TTL_SECONDS says. */
export function tenantStoreOf(env: Env): TenantStore {
  return new TenantStore(env.TENANTS, relayConfig(env).tenantCacheTtlSeconds);
}

export class TenantStore {
  constructor(
    private readonly kv: KVNamespace,
    private readonly cacheTtlSeconds: number,
  ) {}

  /** How long a change may take to show in `get` everywhere (the README's "How long a change takes to apply"). */
  get changeAppliesWithinSeconds(): number {
    return ISOLATE_CACHE_MS / 1000 + this.cacheTtlSeconds + KV_PROPAGATION_SECONDS;
  }

  /**
   * For an ingest request. Should KV fail, the copy this isolate last read of the tenant serves on,
   * however old: a gateway is not sure to send its spans again, and its tenant's record changes far
   * less often than KV has a bad minute. Without one (or with the tenant last read as missing), the
   * read is refused as retryable (503).
   */
  get(id: string): Promise<Tenant | undefined> {
    return this.read(id, true);
  }

  /**
   * For a queued message, which can wait: as `get`, but should KV fail the read is refused however
   * recently the tenant was read. An old copy would deliver with a key rotated since, or read a
   * tenant created again since under the id as gone and drop its spans.
   */
  getCurrent(id: string): Promise<Tenant | undefined> {
    return this.read(id, false);
  }

  private async read(id: string, lastReadServesOnFailure: boolean): Promise<Tenant | undefined> {
    const cached = isolateCache.get(id);
    if (cached && cached.expiresAt > Date.now()) return cached.tenant;
    const changesBefore = changesMade;
    let raw: unknown;
    try {
      raw = await this.kv.get(KEY_PREFIX + id, { type: "json", cacheTtl: this.cacheTtlSeconds });
    } catch {
      // Not a tenant cached as missing: it may have been created since, and a 404 is final to an exporter.
      if (lastReadServesOnFailure && cached?.tenant) return cached.tenant;
      throw new RelayError("unavailable", "the relay could not read the tenant's configuration (Workers KV failed): retry later", {
        retryAfterSeconds: TRANSIENT_RETRY_AFTER_SECONDS,
      });
    }
    const tenant = raw === null ? undefined : { ...parseStored(id, raw), id };
    if (changesMade !== changesBefore) return tenant;
    if (isolateCache.size >= ISOLATE_CACHE_MAX_ENTRIES) makeRoom();
    isolateCache.set(id, { tenant, expiresAt: Date.now() + ISOLATE_CACHE_MS });
    return tenant;
  }

  /** Reads past both caches: for the tenant's Durable Object adopting a record written before it existed. */
  async getFresh(id: string): Promise<Tenant | undefined> {
    const raw = await this.kv.get(KEY_PREFIX + id, { type: "json" });
    return raw === null ? undefined : { ...parseStored(id, raw), id };
  }

  /** Whether KV's copy of the record carries the key sealed as `sealed` (undefined: no key), read past both caches. */
  async holdsSealedKey(id: string, sealed: string | undefined): Promise<boolean> {
    const raw = await this.kv.get<{ api_key_sealed?: unknown }>(KEY_PREFIX + id, "json");
    return raw?.api_key_sealed === sealed;
  }

  async put(id: string, tenant: StoredTenant): Promise<void> {
    const summary: Omit<TenantSummary, "id"> = { parent: tenant.parent, auth: authModeOf(tenant) };
    await this.kv.put(KEY_PREFIX + id, JSON.stringify(tenant), { metadata: summary });
    this.forget(id);
  }

  /** Drops this isolate's cached copy, after the tenant's Durable Object changed the record. */
  forget(id: string): void {
    changesMade++;
    isolateCache.delete(id);
  }

  async delete(id: string): Promise<void> {
    await this.kv.delete(KEY_PREFIX + id);
    this.forget(id);
  }

  async list(cursor: string | undefined, limit: number): Promise<{ tenants: TenantSummary[]; cursor: string | null }> {
    let page: KVNamespaceListResult<Omit<TenantSummary, "id">>;
    try {
      page = await this.kv.list<Omit<TenantSummary, "id">>({ prefix: KEY_PREFIX, cursor, limit });
    } catch {
      throw new RelayError("unavailable", "the relay could not list its tenants (Workers KV failed): retry later", {
        retryAfterSeconds: TRANSIENT_RETRY_AFTER_SECONDS,
      });
    }
    const tenants = page.keys.map((key) => ({
      id: key.name.slice(KEY_PREFIX.length),
      parent: key.metadata?.parent ?? "",
      auth: key.metadata?.auth ?? "passthrough",
    }));
    return { tenants, cursor: page.list_complete ? null : page.cursor };
  }
}

/**
 * Room in a full isolate cache: misses go first. Anyone can ask for ids no tenant has, before any
 * credential is checked; were the tenants' copies cleared with them, a flood of such requests would
 * leave every tenant of the isolate without the copy that serves it while KV fails.
 */
function makeRoom(): void {
  for (const [id, entry] of isolateCache) if (!entry.tenant) isolateCache.delete(id);
  if (isolateCache.size >= ISOLATE_CACHE_MAX_ENTRIES) isolateCache.clear();
}

function parseStored(id: string, raw: unknown): StoredTenant {
  const result = StoredTenantSchema.safeParse(raw);
  if (!result.success) throw new RelayError("misconfigured", `tenant ${id} has an unreadable record in KV`);
  return result.data;
}
