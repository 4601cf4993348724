/**
 * A request's turns at its isolate. An isolate runs the requests it is given on one thread, and
 * JavaScript that never awaits holds every other request back: a request of the costliest shape
 * within the limits takes seconds of CPU, during which other tenants' exports in the same isolate
 * would wait (and an exporter's timeout, 10 s by default, gives up on them). Reading spans is
 * therefore written as steps (a generator), one step per TURN_BYTES of the body read, and the ingest
 * route gives way between them (`takingTurns`), so that requests waiting meanwhile are answered in
 * between. In-process tools and tests, with no other request to let in, run the same steps at once
 * (`allAtOnce`).
 */
export const TURN_BYTES = 128 * 1024;

/** Work done in steps: each yield is a point where another request may be let in. */
export type Steps<T> = Generator<void, T, void>;

/** Whether a pass over `length` bytes (or characters) of the body, made in one go, is a step of its own. */
export function passIsAStep(length: number): boolean {
  return length > TURN_BYTES;
}

/** Where the reading has come to in the body, and whether a step is over. */
export class StepCounter {
  private nextStepAt = TURN_BYTES;

  /** Whether reading up to `offset` in the body ends a step. */
  reached(offset: number): boolean {
    if (offset < this.nextStepAt) return false;
    this.nextStepAt = offset + TURN_BYTES;
    return true;
  }
}

/** The steps run through, without giving way. */
export function allAtOnce<T>(steps: Steps<T>): T {
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/**
 * Only one request of an isolate at a time is paused part way: one paused holds what it has built
 * so far, so two large ones paused at once would need more memory together than either alone.
 * Another runs its steps through without pausing, as every request did before, and the one paused
 * waits for it. A request that has not resumed PAUSE_HELD_AT_MOST_MS after it last paused (its
 * client went away and the runtime dropped it) is taken to have ended.
 */
let pausedPartWay: { turn: object; since: number } | undefined;
const PAUSE_HELD_AT_MOST_MS = 60_000;

/** The steps run through, giving the isolate's other requests their turn between them. */
export async function takingTurns<T>(steps: Steps<T>): Promise<T> {
  // What marks this request as the one paused: not the steps, which hold its body and all it has
  // built, and which a dropped request would otherwise keep alive here until another pauses.
  const turn = {};
  try {
    for (;;) {
      const step = steps.next();
      if (step.done) return step.value;
      const now = Date.now();
      const held = pausedPartWay;
      if (held && held.turn !== turn && now - held.since < PAUSE_HELD_AT_MOST_MS) continue;
      pausedPartWay = { turn, since: now };
      // A timer, not a resolved promise: other requests' work waits in the event loop, behind timers.
      await new Promise((resume) => setTimeout(resume, 0));
    }
  } finally {
    if (pausedPartWay?.turn === turn) pausedPartWay = undefined;
  }
}
