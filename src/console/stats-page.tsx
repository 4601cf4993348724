import { STATS_COLUMNS, STATS_WINDOWS, type StatsWindow, statsColumns } from "../stats/columns.js";
import type { TenantStats } from "./answers.js";
import { EmptyLaterPage, Layout } from "./layout.js";
import { cellText } from "./numbers.js";
import { CONSOLE_PATHS } from "./paths.js";
import type { ConsoleSession } from "./session.js";
import { LastUpstreamError, StatsTable } from "./stats-parts.js";

/** Every tenant's statistics over one window, a line each: the CLI's `stats --window`. */
export function StatsPage(props: {
  session: ConsoleSession;
  window: StatsWindow;
  tenants: TenantStats[];
  /** Whether this is a page past the first (a cursor was followed). */
  later: boolean;
  next: string | null;
}) {
  const field = STATS_WINDOWS[props.window];
  const link = (query: Record<string, string>) => `${CONSOLE_PATHS.stats}?${new URLSearchParams(query)}`;
  return (
    <Layout title="Statistics" session={props.session} section="stats">
      <h1>Statistics</h1>
      <p class="sub">
        Window:
        {Object.keys(STATS_WINDOWS).map((name) =>
          name === props.window ? (
            <strong class="window">{name}</strong>
          ) : (
            <a class="window" href={link({ window: name })}>
              {name}
            </a>
          ),
        )}
      </p>
      {props.tenants.length === 0 && props.later ? (
        <EmptyLaterPage what="tenants" first={link({ window: props.window })} />
      ) : props.tenants.length === 0 ? (
        <p class="muted">
          No tenants yet: <a href={CONSOLE_PATHS.home}>create one</a> on the tenants page.
        </p>
      ) : (
        <StatsTable class="stats">
          <thead>
            <tr>
              <th>Tenant</th>
              {STATS_COLUMNS.map((column) => (
                <th class="num">{column.toLowerCase()}</th>
              ))}
              <th>Last upstream error</th>
            </tr>
          </thead>
          <tbody>
            {props.tenants.map((stats) => (
              <tr data-tenant={stats.tenant}>
                <td>
                  <a href={CONSOLE_PATHS.tenant(stats.tenant)}>{stats.tenant}</a>
                </td>
                {statsColumns(stats[field]).map((value) => (
                  <td class="num">{cellText(value)}</td>
                ))}
                <td class="error">
                  <LastUpstreamError stats={stats} />
                </td>
              </tr>
            ))}
          </tbody>
        </StatsTable>
      )}
      {props.next && (
        <p class="pager">
          <a href={link({ window: props.window, cursor: props.next })}>Next tenants →</a>
        </p>
      )}
    </Layout>
  );
}
