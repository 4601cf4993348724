import { MAX_DURABLE_OBJECT_ROW_BYTES } from "../cloudflare/limits.js";

/** A request's part of one trace waits as one row, with room for the row's other columns; a larger part does not wait. */
const MAX_WAITING_PIECE_BYTES = MAX_DURABLE_OBJECT_ROW_BYTES - 100_000;
/** Why a request's part of a trace of this many bytes may not wait, as one row; undefined when it may. */
export function partOverRow(bytes: number): string | undefined {
  return bytes > MAX_WAITING_PIECE_BYTES ? `its part of the request is over ${MAX_WAITING_PIECE_BYTES} bytes` : undefined;
}

/** Bounds on what may wait, per trace and per object; past them a trace is decided by what is known (its best candidate, else its default parent). */
export const MAX_WAITING_SPANS_PER_TRACE = 1_000;
export const MAX_WAITING_BYTES_PER_TRACE = 8_000_000;
export const MAX_WAITING_SPANS_PER_OBJECT = 5_000;
/** Waiting traces none of whose spans wait (all dropped so far): each is a row the alarm weighs, and nothing else bounds them. */
export const MAX_SPANLESS_TRACES_PER_OBJECT = 5_000;
/** Under Workers RPC's 32 MiB by 1.5 MB, for the rest of a call that carries this much (ingest/settle-traces.ts). */
export const MAX_WAITING_BYTES_PER_OBJECT = 32_000_000;
