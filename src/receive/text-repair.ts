import { isUtf8 } from "node:buffer";
import { ExportTraceServiceRequestSchema } from "../../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import { repairedUtf8 } from "../encoding/bytes.js";
import { assemble, eachField, type Piece, sizeOf } from "../otlp/wire.js";
import { MAX_SPANS_PER_REQUEST } from "./request-limits.js";
import { type MessageCheck, messageCheck } from "./wire-check.js";

/**
 * A protobuf request whose strings are not all UTF-8, with each such string made UTF-8
 * (repairedUtf8) and every other byte as it came. An exporter that cuts a string by UTF-16 length
 * and encodes it unit by unit (protobufjs does) sends half of an emoji as `ED A0 BD`, which a strict
 * decoder refuses: rejected, the span would be lost for one character, and with a trace's top span
 * the whole trace would vanish from Braintrust's Logs. The same half escaped in OTLP/JSON reads as
 * U+FFFD (otlp-json.ts); so it does here. Undefined when the mended request would be larger than
 * `maxBytes` (a faulty byte can become three), or holds more than MAX_MENDED_STRINGS to mend: its
 * faulty spans are then rejected, as the full path does. Only for a request the wire check found
 * framed (wire-check.ts), whose fields all read and whose nesting is bounded.
 */
export function textRepaired(bytes: Uint8Array, maxBytes: number): Uint8Array | undefined {
  const repair = new Repair(bytes, maxBytes - bytes.byteLength);
  let pieces: Piece[] | undefined;
  try {
    pieces = repair.message(messageCheck(ExportTraceServiceRequestSchema), 0, bytes.byteLength);
  } catch (err) {
    if (err === TOO_LARGE) return undefined;
    throw err;
  }
  // The text's growth is counted as it is mended; the lengths around it may take a byte more each.
  if (pieces === undefined || sizeOf(pieces) > maxBytes) return undefined;
  return assemble(bytes, pieces);
}

/**
 * How many strings one request may have mended. What is held until the request is assembled grows
 * with them (a few hundred bytes each), not with the body: 16 MiB of attributes each keyed with half
 * an emoji (which mends to as many bytes, so the size bound never stops it) would need more heap
 * than an isolate has. An exporter cutting text mid-character sends a few per span at most; a
 * request at the span limit may have one in each of its spans.
 */
export const MAX_MENDED_STRINGS = MAX_SPANS_PER_REQUEST;

/** Thrown once the text mended so far makes the request too large, or is too many strings: nothing more is mended, or held. */
const TOO_LARGE = Symbol("too large");

class Repair {
  /** How many bytes the strings mended so far grew by. */
  private grown = 0;
  private mendedStrings = 0;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly room: number,
  ) {}

  /**
   * The message's fields as pieces, a field holding mended text written anew, the fields between
   * such fields as one range of the bytes they came in; undefined when none holds any. A known
   * field has the wire type its schema gives it: the wire check found the request framed.
   */
  message(check: MessageCheck, start: number, end: number): Piece[] | undefined {
    let pieces: Piece[] | undefined;
    // Where the fields not mended since the last mended one began.
    let unchanged = start;
    eachField(this.bytes, start, end, (no, _, value, whole) => {
      const field = check.fields[no];
      const inner = field?.message
        ? this.message(field.message, value.start, value.end)
        : field?.utf8
          ? this.string(value.start, value.end)
          : undefined;
      if (inner === undefined) return;
      pieces ??= [];
      pieces.push({ start: unchanged, end: whole.start }, { field: no, pieces: inner });
      unchanged = whole.end;
    });
    pieces?.push({ start: unchanged, end });
    return pieces;
  }

  /** The string made UTF-8, when it is not. */
  private string(start: number, end: number): Piece[] | undefined {
    const text = this.bytes.subarray(start, end);
    if (isUtf8(text)) return undefined;
    if (++this.mendedStrings > MAX_MENDED_STRINGS) throw TOO_LARGE;
    const mended = repairedUtf8(text);
    this.grown += mended.byteLength - text.byteLength;
    if (this.grown > this.room) throw TOO_LARGE;
    return [mended];
  }
}
