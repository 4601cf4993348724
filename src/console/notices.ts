/**
 * What a change did, said on the page it returns to (`?done=<code>`): from a closed set of
 * sentences, so a link cannot make the console say anything else.
 */
const DONE = {
  saved: "Tenant saved.",
  deleted: "Tenant deleted, with its dead letters; its queued retries are dropped.",
  revoked: "Token revoked: requests with it are refused from now on (within the time a change takes to apply).",
  "dead-letter-deleted": "Dead letter deleted.",
} as const;

type DoneCode = keyof typeof DONE;

/** The sentence for a page's `done` and `replayed`/`orphaned` query, if it names one. */
export function noticeOf(query: Record<string, string>): string | undefined {
  if (query.done === "replayed") {
    const replayed = Number.parseInt(query.replayed ?? "", 10) || 0;
    const orphaned = Number.parseInt(query.orphaned ?? "", 10) || 0;
    const plural = (n: number) => `${n} dead letter${n === 1 ? "" : "s"}`;
    return `Replayed ${plural(replayed)} onto the delivery queue.${orphaned > 0 ? ` ${plural(orphaned)} of deleted tenants not replayed: delete them.` : ""}`;
  }
  return query.done && Object.hasOwn(DONE, query.done) ? DONE[query.done as DoneCode] : undefined;
}

export function donePath(path: string, code: DoneCode): string {
  return `${path}?done=${code}`;
}

export function replayedPath(path: string, replayed: number, orphaned: number): string {
  return `${path}?${new URLSearchParams({ done: "replayed", replayed: String(replayed), orphaned: String(orphaned) })}`;
}
