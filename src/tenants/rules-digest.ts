import { sha256Hex } from "../secrets/compare.js";
import type { Redact } from "./processing-schema.js";

/** Hex digits of SHA-256: 64 bits, so two rule sets a tenant has had do not share one by chance. */
const DIGEST_DIGITS = 16;
// Weak: a tenant's rules are let go with the record read; each read is worked out once.
const digests = new WeakMap<Redact, Promise<string>>();

/**
 * A digest naming a tenant's redaction rules, carried with the spans the relay keeps (queued, waiting
 * for their trace, dead-lettered): sent later, they are masked again only when the tenant's rules
 * are no longer the ones they were masked with (deliver/consumer.ts). Of the stored rules, whose
 * members the schema wrote in its own order, so a PUT that lists them otherwise keeps the digest.
 */
export function maskingRulesDigest(redact: Redact): Promise<string> {
  let digest = digests.get(redact);
  if (!digest) {
    digest = sha256Hex(JSON.stringify(redact)).then((hex) => hex.slice(0, DIGEST_DIGITS));
    digests.set(redact, digest);
  }
  return digest;
}
