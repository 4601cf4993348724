/** What one admin call may carry or do, which the console's forms are held to too. */

/** Far above any tenant record (100 routes, 100 redaction rules), far below what a Worker can hold. */
export const MAX_ADMIN_BODY_BYTES = 1024 * 1024;

/**
 * Dead letters replayed a call at most: one R2 list, a call to each one's tenant object (which
 * checks the owner and claims them) and two `sendBatch` make 43 subrequests at most, inside the
 * Workers Free plan's 50 (docs/cloudflare-limits.md). A backlog after an outage is thousands: the
 * caller goes on with the cursor, a call each page.
 */
export const MAX_REPLAY_PAGE = 40;
