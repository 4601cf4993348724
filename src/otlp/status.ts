import { type Status, Status_StatusCode } from "../../gen/opentelemetry/proto/trace/v1/trace_pb.js";

/**
 * Whether a span's status says it failed without saying why: code ERROR and no message. Such a span
 * is given the reason its attributes or events state (process/failure.ts); one with a message of its
 * own keeps it.
 */
export function failedWithoutMessage(status: Status | undefined): boolean {
  return status?.code === Status_StatusCode.ERROR && status.message === "";
}
