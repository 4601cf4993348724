import type { PropsWithChildren } from "hono/jsx";
import { isUnpriced, STATS_COLUMNS, STATS_WINDOWS, statsColumns, UNPRICED, unpricedCalls, upstreamErrorPassed } from "../stats/columns.js";
import type { StatsSummary, TenantStats } from "./answers.js";
import { MinuteChart } from "./chart.js";
import { Time } from "./layout.js";
import { errors, lastHour, spansDelivered, spansReceived } from "./minute-series.js";
import { cellText, countOf, countText, dollarsText } from "./numbers.js";

/** Spans and errors a minute over the last hour. */
export function TrafficCharts(props: { stats: TenantStats }) {
  return (
    <div class="charts">
      <figure>
        <MinuteChart label="spans received" values={lastHour(props.stats, spansReceived)} tone="traffic" />
        <figcaption>spans received / min, last hour</figcaption>
      </figure>
      <figure>
        <MinuteChart label="spans delivered" values={lastHour(props.stats, spansDelivered)} tone="traffic" />
        <figcaption>spans delivered / min, last hour</figcaption>
      </figure>
      <figure>
        <MinuteChart label="errors" values={lastHour(props.stats, errors)} tone="errors" />
        <figcaption>errors / min, last hour</figcaption>
      </figure>
    </div>
  );
}

/**
 * A table of the CLI's statistics columns, with what its numbers count, which the headings (the
 * CLI's) leave unsaid: said above the table's scroll box rather than as its caption, which is as
 * wide as the table and so ran out of a phone's window; it describes the table for screen readers.
 * Each page has one such table.
 */
export function StatsTable(props: PropsWithChildren<{ class: string }>) {
  return (
    <>
      <p class="caption" id="stats-columns">
        Requests, then spans: received, accepted, rejected, delivered, retried, dead-lettered. p50 and p99: Braintrust's answer time, in ms.
      </p>
      <div class="scroll">
        <table class={props.class} aria-describedby="stats-columns">
          {props.children}
        </table>
      </div>
    </>
  );
}

/** The CLI's `stats <tenant>` table: a row per window. */
export function WindowsTable(props: { stats: TenantStats }) {
  return (
    <StatsTable class="windows">
      <thead>
        <tr>
          <th>Window</th>
          {STATS_COLUMNS.map((column) => (
            <th class="num">{column.toLowerCase()}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {Object.entries(STATS_WINDOWS).map(([name, field]) => (
          <tr data-window={name}>
            <td>{name}</td>
            {statsColumns(props.stats[field]).map((value) => (
              <td class="num">{cellText(value)}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </StatsTable>
  );
}

export function LastUpstreamError(props: { stats: TenantStats }) {
  const error = props.stats.last_upstream_error;
  if (!error) return <span class="muted">none</span>;
  // One the tenant's deliveries got past is shown muted: not an alarm, only what happened last.
  const passed = upstreamErrorPassed(props.stats);
  return (
    <span class={passed ? "last-error past" : "last-error"}>
      <Time at={error.at} /> {passed ? `(${passed}) ` : ""}
      {error.status ?? "no answer"}: {error.reason}
    </span>
  );
}

/** Model calls of the last 24 hours, all models together: what they cost and how many tokens they used. */
export function LlmUsageSummary(props: { usage: StatsSummary["llm_usage"] }) {
  const models = Object.values(props.usage);
  if (models.length === 0) return <span class="muted">none counted</span>;
  const cost = models.reduce((sum, m) => sum + m.cost_usd, 0);
  const tokens = models.reduce((sum, m) => sum + m.prompt_tokens + m.completion_tokens, 0);
  const unpriced = models.reduce((sum, m) => sum + unpricedCalls(m), 0);
  return (
    <span class="llm-usage">
      ${dollarsText(cost)} · {countText(tokens)} tokens{unpriced > 0 && ` · ${countOf(unpriced, "call")} ${UNPRICED}`}
    </span>
  );
}

/** The last 24 hours by model, as `tfy-relay stats` prints them, and what is counted at all. */
export function LlmUsageTable(props: { usage: StatsSummary["llm_usage"] }) {
  const models = Object.entries(props.usage);
  return (
    <>
      {models.length > 0 && (
        <div class="scroll">
          <table class="llm-usage">
            <thead>
              <tr>
                <th>Model (24 h)</th>
                <th class="num">Calls</th>
                <th class="num">Prompt tokens</th>
                <th class="num">Completion tokens</th>
                <th class="num">Cost, USD</th>
              </tr>
            </thead>
            <tbody>
              {models.map(([model, usage]) => (
                <tr>
                  <td class="mono">{model}</td>
                  <td class="num">{countText(usage.calls)}</td>
                  <td class="num">{countText(usage.prompt_tokens)}</td>
                  <td class="num">{countText(usage.completion_tokens)}</td>
                  <td class="num">
                    {isUnpriced(usage) ? (
                      <span class="muted">{UNPRICED}</span>
                    ) : (
                      <>
                        {dollarsText(usage.cost_usd)}
                        {unpricedCalls(usage) > 0 && (
                          <span class="muted">
                            {" "}
                            + {countText(unpricedCalls(usage))} {UNPRICED}
                          </span>
                        )}
                      </>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <p class="muted llm-note">
        LLM usage counts the model calls in the spans the relay translates (the gateway's own tokens and cost); a tenant that does not
        translate is not read for it. Calls the gateway gave no cost for are {UNPRICED}, left out of the cost: Braintrust prices them by the
        model's name.
      </p>
    </>
  );
}
