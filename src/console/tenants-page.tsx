import type { TenantStats, TenantSummary } from "./answers.js";
import { MinuteChart } from "./chart.js";
import { ReplayAllForm } from "./dead-letters-table.js";
import { type Concern, concernsOf, type DeadLetterCount } from "./health.js";
import { EmptyLaterPage, Layout, Notice } from "./layout.js";
import { errors, lastHour, spansReceived } from "./minute-series.js";
import { countText } from "./numbers.js";
import { CONSOLE_PATHS } from "./paths.js";
import type { ConsoleSession } from "./session.js";
import { LastUpstreamError, LlmUsageSummary } from "./stats-parts.js";
import { type RefusedForm, RefusedNotice, TenantForm } from "./tenant-form.js";

export interface TenantRow {
  tenant: TenantSummary;
  /** Undefined when the tenant's object did not answer for them: the row shows none, and says so. */
  stats: TenantStats | undefined;
  /** Dead letters counted, and whether there are more than one page of them. */
  deadLetters: DeadLetterCount;
}

/** The overview's columns past the tenant's id, as their headings and, on a phone's card, their labels say them. */
const HEADINGS = {
  health: "Health",
  parent: "Parent",
  auth: "Auth",
  traffic: "Spans / min, last hour",
  errors: "Errors / min",
  deadLetters: "Dead letters",
  queued: "Spans queued",
  lastError: "Last upstream error",
  usage: "LLM cost · tokens, 24 h",
} as const;

/** A statistic the tenant's object did not answer for. */
function Unknown() {
  return <span class="muted">unknown</span>;
}

/** A tenant's health: "ok", or what an operator should look at, worst first. */
function Health(props: { concerns: Concern[] }) {
  if (props.concerns.length === 0) return <span class="health ok">ok</span>;
  return (
    <ul class="health">
      {props.concerns.map((concern) => (
        <li class={concern.level}>{concern.text}</li>
      ))}
    </ul>
  );
}

/** The page's tenants something is wrong with, named above the table, where a glance starts. */
function NeedAttention(props: { rows: Array<TenantRow & { concerns: Concern[] }> }) {
  const failing = props.rows.filter((row) => row.concerns.some((concern) => concern.level === "bad"));
  if (failing.length === 0) return null;
  return (
    <p class="attention">
      {failing.length === 1 ? "1 tenant on this page needs" : `${failing.length} tenants on this page need`} attention:{" "}
      {failing.map((row, i) => (
        <>
          {i > 0 && ", "}
          <a href={CONSOLE_PATHS.tenant(row.tenant.id)}>{row.tenant.id}</a>
        </>
      ))}
      .
    </p>
  );
}

/** Every tenant at a glance, a page at a time: is it healthy, and what waits for an operator. */
export function TenantsPage(props: {
  session: ConsoleSession;
  rows: TenantRow[];
  /** Whether this is a page past the first (a cursor was followed). */
  later: boolean;
  next: string | null;
  notice?: string | undefined;
  /** Where "replay all" goes on from, after a replay that left more. */
  replayFrom?: string | undefined;
  /** The new-tenant form as sent, when the admin API refused it. */
  refused?: RefusedForm;
}) {
  const rows = props.rows.map((row) => ({ ...row, concerns: concernsOf(row.stats, row.deadLetters) }));
  return (
    <Layout title="Tenants" session={props.session} section="tenants">
      <h1>Tenants</h1>
      <p class="sub">Charts: the last hour, a bar a minute. Errors: refused requests and spans, and failed attempts to reach Braintrust.</p>
      {props.notice && <Notice>{props.notice}</Notice>}
      {props.refused && <RefusedNotice refused={props.refused} below="new-tenant" />}
      <NeedAttention rows={rows} />
      {rows.length === 0 ? (
        props.later ? (
          <EmptyLaterPage what="tenants" first={CONSOLE_PATHS.home} />
        ) : (
          <p class="muted">No tenants yet: create one below.</p>
        )
      ) : (
        <div class="scroll">
          <table class="tenants">
            <thead>
              <tr>
                <th>Tenant</th>
                <th>{HEADINGS.health}</th>
                <th>{HEADINGS.parent}</th>
                <th>{HEADINGS.auth}</th>
                <th>{HEADINGS.traffic}</th>
                <th>{HEADINGS.errors}</th>
                <th class="num">{HEADINGS.deadLetters}</th>
                <th class="num">{HEADINGS.queued}</th>
                <th>{HEADINGS.lastError}</th>
                <th>{HEADINGS.usage}</th>
              </tr>
            </thead>
            <tbody>
              {rows.map(({ tenant, stats, deadLetters, concerns }) => (
                <tr data-tenant={tenant.id}>
                  <td>
                    <a href={CONSOLE_PATHS.tenant(tenant.id)}>{tenant.id}</a>
                  </td>
                  <td data-label={HEADINGS.health}>
                    <Health concerns={concerns} />
                  </td>
                  <td class="mono parent" title={tenant.parent} data-label={HEADINGS.parent}>
                    {tenant.parent}
                  </td>
                  <td data-label={HEADINGS.auth}>{tenant.auth === "stored_key" ? "stored key" : "passthrough"}</td>
                  <td data-label={HEADINGS.traffic}>
                    {stats ? <MinuteChart label="spans received" values={lastHour(stats, spansReceived)} tone="traffic" /> : <Unknown />}
                  </td>
                  <td data-label={HEADINGS.errors}>
                    {stats ? <MinuteChart label="errors" values={lastHour(stats, errors)} tone="errors" /> : <Unknown />}
                  </td>
                  <td class="num dead-letter-count" data-label={HEADINGS.deadLetters}>
                    {countText(deadLetters.count)}
                    {deadLetters.more ? "+" : ""}
                  </td>
                  <td class="num waiting" data-label={HEADINGS.queued}>
                    {stats ? countText(stats.waiting_in_queue) : <Unknown />}
                  </td>
                  <td class="error" data-label={HEADINGS.lastError}>
                    {stats ? <LastUpstreamError stats={stats} /> : <Unknown />}
                  </td>
                  <td data-label={HEADINGS.usage}>{stats ? <LlmUsageSummary usage={stats.last_24h.llm_usage} /> : <Unknown />}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {props.next && (
        <p class="pager">
          <a href={`${CONSOLE_PATHS.home}?${new URLSearchParams({ cursor: props.next })}`}>Next tenants →</a>
        </p>
      )}
      <h2>Replay every dead letter</h2>
      <ReplayAllForm session={props.session} from={props.replayFrom} label="Replay all dead letters" />
      <h2 id="new-tenant">New tenant</h2>
      <TenantForm session={props.session} {...(props.refused ? { refused: props.refused } : {})} />
    </Layout>
  );
}
