import { MAX_REPLAY_PAGE } from "../admin/limits.js";
import type { ReplayAnswer } from "./answers.js";
import { countOf } from "./numbers.js";

/**
 * What a change did, said on the page it returns to (`?done=<code>`): from a closed set of
 * sentences, so a link cannot make the console say anything else.
 */
const DONE = {
  created: "Tenant created.",
  saved: "Tenant saved.",
  deleted: "Tenant deleted, with its dead letters; its queued retries are dropped.",
  // Said where the token is no longer shown: a reload of the page that showed it.
  issued:
    "Token issued. It was shown once, when this page first opened after issuing it, and is not shown again: if it was not kept, revoke it and issue another.",
  revoked: "Token revoked: requests with it are refused from now on (within the time a change takes to apply).",
  "dead-letter-deleted": "Dead letter deleted.",
} as const;

type DoneCode = keyof typeof DONE;

/** The parameter that proves the session that made the change signed the others (notice-signature.ts). */
export const NOTICE_SIGNATURE = "notice_signature";

/** The query parameters a page a change returns to reads: what the change did, and its signature. */
export const NOTICE_PARAMETERS = ["done", "replayed", "orphaned", "replaying", "unavailable", "replay_from", NOTICE_SIGNATURE] as const;

/** The sentence for a page's `done` and `replayed`/`orphaned`/`replaying`/`unavailable` query, if it names one. */
export function noticeOf(query: Record<string, string>): string | undefined {
  if (query.done === "replayed") {
    const replayed = replayCount(query.replayed);
    const orphaned = replayCount(query.orphaned);
    const replaying = replayCount(query.replaying);
    const unavailable = replayCount(query.unavailable);
    if (replayed === undefined || orphaned === undefined || replaying === undefined || unavailable === undefined) return undefined;
    const more = replayCursorOf(query) ? " More are left: replay again to go on from there." : "";
    // The page is drawn before the queue delivers them: said so, a row still listed is not taken for a replay that failed.
    const listed = replayed === 0 ? "" : replayed === 1 ? "; it stays listed until delivered" : "; each stays listed until delivered";
    return `Replayed ${countOf(replayed, "dead letter")} onto the delivery queue${listed}.${orphaned > 0 ? ` ${countOf(orphaned, "dead letter")} of deleted tenants not replayed: delete them.` : ""}${replaying > 0 ? ` ${countOf(replaying, "dead letter")} already being replayed, left to that replay.` : ""}${unavailable > 0 ? ` ${countOf(unavailable, "dead letter")} not replayed: the Durable Objects of their tenants did not answer; replay them again.` : ""}${more}`;
  }
  return query.done && Object.hasOwn(DONE, query.done) ? DONE[query.done as DoneCode] : undefined;
}

/**
 * A count of a replay's answer, as the link to its page carries it (none when absent); undefined for
 * one no replay gives, a link made up, which gets no notice: a replay takes at most a page.
 */
function replayCount(given: string | undefined): number | undefined {
  if (given === undefined) return 0;
  const count = /^\d{1,3}$/.test(given) ? Number(given) : Number.NaN;
  return count <= MAX_REPLAY_PAGE ? count : undefined;
}

export function donePath(path: string, code: DoneCode): string {
  return withQuery(path, `done=${code}`);
}

/** The path with these parameters added to the query it may have already (a filtered, paged list). */
function withQuery(path: string, query: string): string {
  return `${path}${path.includes("?") ? "&" : "?"}${query}`;
}

/** Where a replay returns to: what it did, and where the next replay goes on from when more are left. */
export function replayedPath(path: string, page: ReplayAnswer): string {
  return withQuery(
    path,
    `${new URLSearchParams({
      done: "replayed",
      replayed: String(page.replayed.length),
      orphaned: String(page.orphaned.length),
      replaying: String(page.replaying.length),
      ...(page.unavailable.length > 0 ? { unavailable: String(page.unavailable.length) } : {}),
      ...(page.cursor ? { replay_from: page.cursor } : {}),
    })}`,
  );
}

/** Where the page's replay form goes on from, after a replay that left more. */
export function replayCursorOf(query: Record<string, string>): string | undefined {
  return query.done === "replayed" && query.replay_from ? query.replay_from : undefined;
}
