/** How translation reads a source text it derives another from: as it came, or as the tenant's value rules mask it. */
export type SourceReading = (text: string) => string;

/** A source text as it came. */
export const asItCame: SourceReading = (text) => text;

/** A source text read, when there is one. */
export function readIfAny(text: string | undefined, read: SourceReading): string | undefined {
  return text === undefined ? undefined : read(text);
}

/**
 * Text translation derives from texts of the span (a model's name without its account, an error's
 * status and message joined, a result's text parts one to a line), as the tenant's value rules leave
 * it. Masking runs on what translation wrote, and a derived text may no longer hold what a rule
 * matched in its source (a rule anchored to the source's start or end, or one whose match the cut
 * left part of): the text is then derived from its sources as masked, so nothing a rule masked where
 * it came shows in Braintrust. It stays as derived when masking it gives that text, so no rule masks
 * twice. `derived` is what `derive` made of the sources as they came; it reads each source text
 * through `read`. `masked` is undefined for a tenant without value rules.
 */
export function derivedAsMasked<Derived extends string | undefined>(
  derived: Derived,
  derive: (read: SourceReading) => string | undefined,
  masked: SourceReading | undefined,
): Derived | string {
  if (derived === undefined || masked === undefined) return derived;
  const fromMasked = derive(masked);
  // None: the sources read again found nothing (a payload past its parse budget), so the text stays as derived, masked whole.
  return fromMasked === undefined || fromMasked === masked(derived) ? derived : fromMasked;
}
