/** Cloudflare's limits the relay is built around (see docs/cloudflare-limits.md). */

const MiB = 1024 * 1024;

/** Workers: the largest request body Cloudflare passes to a Worker (Free and Pro plans). */
export const MAX_WORKER_REQUEST_BYTES = 100 * MiB;

/** Queues: the longest delay, on send and on retry. */
export const MAX_QUEUE_DELAY_SECONDS = 12 * 3600;

/** Queues: one message, its metadata included (1 KB = 1000 B). */
export const MAX_QUEUE_MESSAGE_BYTES = 128_000;

/** Queues: one `sendBatch` call. */
export const MAX_QUEUE_BATCH_MESSAGES = 100;
export const MAX_QUEUE_BATCH_BYTES = 256_000;

/** Durable Objects with SQLite storage: one row, so any BLOB in it (2 MB, taken as 10^6 B). */
export const MAX_DURABLE_OBJECT_ROW_BYTES = 2_000_000;
