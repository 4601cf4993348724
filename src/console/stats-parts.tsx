import { STATS_COLUMNS, STATS_WINDOWS, statsColumns } from "../stats/columns.js";
import type { TenantStats } from "./answers.js";
import { MinuteChart } from "./chart.js";
import { errors, lastHour, spansDelivered, spansReceived } from "./minute-series.js";

/** Spans and errors a minute over the last hour. */
export function TrafficCharts(props: { stats: TenantStats }) {
  return (
    <div class="charts">
      <figure>
        <MinuteChart label="spans received" values={lastHour(props.stats, spansReceived)} tone="traffic" />
        <figcaption>spans received / min</figcaption>
      </figure>
      <figure>
        <MinuteChart label="spans delivered" values={lastHour(props.stats, spansDelivered)} tone="traffic" />
        <figcaption>spans delivered / min</figcaption>
      </figure>
      <figure>
        <MinuteChart label="errors" values={lastHour(props.stats, errors)} tone="errors" />
        <figcaption>errors / min</figcaption>
      </figure>
    </div>
  );
}

/** The CLI's `stats <tenant>` table: a row per window. */
export function WindowsTable(props: { stats: TenantStats }) {
  return (
    <table class="windows">
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
              <td class="num">{value}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function LastUpstreamError(props: { error: TenantStats["last_upstream_error"] }) {
  if (!props.error) return <span class="muted">none</span>;
  return (
    <span class="last-error">
      <time datetime={props.error.at}>{props.error.at}</time> {props.error.status ?? "no answer"}: {props.error.reason}
    </span>
  );
}

/** The relay does not count LLM usage yet (README, Statistics): the console says so rather than show a zero. */
export const LLM_USAGE_NOT_COUNTED = "not counted yet";
export function LlmUsageNote() {
  return (
    <p class="muted llm-note">
      LLM cost and tokens today: {LLM_USAGE_NOT_COUNTED}. The relay reads the gateway's usage attributes only while it translates spans and
      does not add them up per tenant or model; Braintrust's own views show usage per project.
    </p>
  );
}
