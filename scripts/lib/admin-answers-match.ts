import type { z } from "zod";
import type { DeadLetterList, ReplayAnswer as RelayReplayAnswer } from "../../src/admin/dead-letters-routes.js";
import type { ResealAnswer as RelayResealAnswer } from "../../src/admin/keys-routes.js";
import type { TenantStats as RelayTenantStats, WaitingTraces as RelayWaitingTraces, StatsList } from "../../src/admin/stats-routes.js";
import type { TenantList } from "../../src/admin/tenant-list.js";
import type { IssuedToken as RelayIssuedToken } from "../../src/admin/tokens-routes.js";
import type { tenantView } from "../../src/admin/views.js";
import type { DeadLetter as RelayDeadLetter } from "../../src/deliver/dead-letters.js";
import type { StatsSummary as RelayStatsSummary } from "../../src/stats/summary.js";
import type { TenantSummary as RelayTenantSummary } from "../../src/tenants/store.js";
import type {
  DeadLetter,
  DeadLetterPage,
  IssuedToken,
  ReplayAnswer,
  ResealAnswer,
  StatsPage,
  StatsSummary,
  TenantPage,
  TenantStatsObject,
  TenantSummary,
  TenantView,
  WaitingTraces,
} from "./admin-answers.js";

/** A schema's input without the index signatures of its loose objects, which no declared interface has; records keep theirs. */
type Declared<T> = T extends readonly (infer Item)[]
  ? Declared<Item>[]
  : T extends object
    ? { [K in keyof T as string extends K ? (unknown extends T[K] ? never : K) : K]: Declared<T[K]> }
    : T;

/** Compiles only when `Answer`, the type src gives an answer, is one `Schema` reads. */
type Reads<Schema extends z.ZodType, Answer extends Declared<z.input<Schema>>> = [Schema, Answer];

/**
 * Each of the CLI's schemas (admin-answers.ts) tied to the type src gives the answer it reads:
 * `npm run typecheck` fails when one is changed without the other. The schemas stay loose at run
 * time, for a relay of another version; this checks only this one's.
 */
export type AnswersOfThisRelay = [
  Reads<typeof TenantSummary, RelayTenantSummary>,
  Reads<typeof TenantView, ReturnType<typeof tenantView>>,
  Reads<typeof DeadLetter, RelayDeadLetter>,
  Reads<typeof IssuedToken, RelayIssuedToken>,
  Reads<typeof ReplayAnswer, RelayReplayAnswer>,
  Reads<typeof ResealAnswer, RelayResealAnswer>,
  Reads<typeof WaitingTraces, RelayWaitingTraces>,
  Reads<typeof StatsSummary, RelayStatsSummary>,
  Reads<typeof TenantStatsObject, RelayTenantStats>,
  Reads<typeof TenantPage, TenantList>,
  Reads<typeof DeadLetterPage, DeadLetterList>,
  Reads<typeof StatsPage, StatsList>,
];
