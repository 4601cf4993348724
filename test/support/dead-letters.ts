import type { DeadLetter } from "../../src/deliver/dead-letters.js";
import { admin } from "./relay.js";

export type DeadLetterView = DeadLetter;

export async function deadLettersOf(tenantId: string): Promise<DeadLetterView[]> {
  const response = await admin("GET", `/dead-letters?tenant=${tenantId}`);
  return ((await response.json()) as { dead_letters: DeadLetterView[] }).dead_letters;
}

/** Polls the admin API until `predicate` holds for the tenant's dead letters, or 30 s pass. */
export async function waitForDeadLetters(tenantId: string, predicate: (list: DeadLetterView[]) => boolean): Promise<DeadLetterView[]> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const list = await deadLettersOf(tenantId);
    if (predicate(list) || Date.now() > deadline) return list;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}
