import { failingStill } from "../stats/columns.js";
import { requestsRefused } from "../stats/summary.js";
import type { TenantStats } from "./answers.js";
import { countOf, countText } from "./numbers.js";

/** Something about a tenant an operator should look at: `bad` loses or holds back spans now, `watch` may be passing. */
export interface Concern {
  level: "bad" | "watch";
  text: string;
}

/** Dead letters counted for a tenant, and whether there are more than were counted. */
export interface DeadLetterCount {
  count: number;
  more: boolean;
}

/**
 * What an operator should look at for a tenant, worst first; none when it is healthy. "Now" is the
 * last 5 minutes: a tenant whose last upstream error is an hour old, its spans delivered since, has
 * none, where the error alone would look the same as one failing at this moment. `stats`: undefined
 * when the tenant's object did not answer for them.
 */
export function concernsOf(stats: TenantStats | undefined, deadLetters: DeadLetterCount): Concern[] {
  const concerns: Concern[] = [];
  const now = stats?.last_5m;
  if (!now) concerns.push({ level: "bad", text: "statistics unavailable: its Durable Object did not answer" });
  if (now && now.upstream.errors > 0 && now.spans.delivered === 0) {
    concerns.push({ level: "bad", text: `Braintrust took nothing in 5 min: ${countOf(now.upstream.errors, "attempt")} failed` });
  } else if (stats && now && now.spans.delivered === 0 && failingStill(stats)) {
    // Backoff puts an outage's retries more than 5 minutes apart: between them a quiet tenant has no attempt to count.
    concerns.push({ level: "bad", text: "Braintrust took nothing in 5 min: its last attempt failed, and spans wait for the next" });
  }
  // The relay's own fault first: no waiting on Braintrust mends it, its operator must.
  const misconfigured = now?.rejected_requests.misconfigured ?? 0;
  if (misconfigured > 0) {
    concerns.push({
      level: "bad",
      text: `${countOf(misconfigured, "request")} refused in 5 min because the relay is misconfigured: its log lines (code misconfigured) say how`,
    });
  }
  const refused = now ? requestsRefused(now) - misconfigured : 0;
  if (refused > 0)
    concerns.push({ level: "bad", text: `${countOf(refused, misconfigured > 0 ? "other request" : "request")} refused in 5 min` });
  // Braintrust answered 2xx but kept them not: a partial success, which nothing retries.
  const rejected = now?.spans.rejected.by_braintrust ?? 0;
  if (rejected > 0) concerns.push({ level: "bad", text: `${countOf(rejected, "span")} rejected by Braintrust in 5 min` });
  if (deadLetters.count > 0) {
    const counted = deadLetters.more ? `${countText(deadLetters.count)}+ dead letters` : countOf(deadLetters.count, "dead letter");
    concerns.push({ level: "bad", text: `${counted} to replay or delete` });
  }
  // Spans wait in the queue for a retry, or a routing tenant's for a moment on their way out.
  if (stats && stats.waiting_in_queue > 0)
    concerns.push({ level: "watch", text: `${countOf(stats.waiting_in_queue, "span")} in the queue` });
  return concerns;
}
