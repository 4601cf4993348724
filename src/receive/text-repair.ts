import { isUtf8 } from "node:buffer";
import { ExportTraceServiceRequestSchema } from "../../gen/opentelemetry/proto/collector/trace/v1/trace_service_pb.js";
import { repairedUtf8 } from "../encoding/bytes.js";
import { assemble, eachField, type Piece, sizeOf } from "../otlp/wire.js";
import { type MessageCheck, messageCheck } from "./wire-check.js";

/**
 * A protobuf request whose strings are not all UTF-8, with each such string made UTF-8
 * (repairedUtf8) and every other byte as it came. An exporter that cuts a string by UTF-16 length
 * and encodes it unit by unit (protobufjs does) sends half of an emoji as `ED A0 BD`, which a strict
 * decoder refuses: rejected, the span would be lost for one character, and with a trace's top span
 * the whole trace would vanish from Braintrust's Logs. The same half escaped in OTLP/JSON reads as
 * U+FFFD (otlp-json.ts); so it does here. Undefined when the mended request would be larger than
 * `maxBytes` (a faulty byte can become three): its spans are then rejected, as the full path does.
 * Only for a request the wire check found framed (wire-check.ts), whose fields all read and whose
 * nesting is bounded.
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

/** Thrown once the text mended so far makes the request too large: nothing more is mended, or held. */
const TOO_LARGE = Symbol("too large");

class Repair {
  /** How many bytes the strings mended so far grew by. */
  private grown = 0;

  constructor(
    private readonly bytes: Uint8Array,
    private readonly room: number,
  ) {}

  /**
   * The message's fields as pieces, a field holding mended text written anew, the others as they
   * came; undefined when none holds any. A known field has the wire type its schema gives it: the
   * wire check found the request framed.
   */
  message(check: MessageCheck, start: number, end: number): Piece[] | undefined {
    const pieces: Piece[] = [];
    let mended = false;
    eachField(this.bytes, start, end, (no, _, value, whole) => {
      const field = check.fields[no];
      const inner = field?.message
        ? this.message(field.message, value.start, value.end)
        : field?.utf8
          ? this.string(value.start, value.end)
          : undefined;
      mended ||= inner !== undefined;
      pieces.push(inner ? { field: no, pieces: inner } : whole);
    });
    return mended ? pieces : undefined;
  }

  /** The string made UTF-8, when it is not. */
  private string(start: number, end: number): Piece[] | undefined {
    const text = this.bytes.subarray(start, end);
    if (isUtf8(text)) return undefined;
    const mended = repairedUtf8(text);
    this.grown += mended.byteLength - text.byteLength;
    if (this.grown > this.room) throw TOO_LARGE;
    return [mended];
  }
}
