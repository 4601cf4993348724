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
  /** Tenants of the page whose object did not answer for their statistics. */
  unavailable: string[];
  /** Whether this is a page past the first (a cursor was followed). */
  later: boolean;
  next: string | null;
}) {
  const field = STATS_WINDOWS[props.window];
  const link = (query: Record<string, string>) => `${CONSOLE_PATHS.stats}?${new URLSearchParams(query)}`;
  // In the page's order, by id, those without statistics among them.
  const rows = [
    ...props.tenants.map((stats) => ({ tenant: stats.tenant, stats })),
    ...props.unavailable.map((tenant) => ({ tenant, stats: undefined })),
  ].sort((a, b) => (a.tenant < b.tenant ? -1 : 1));
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
      {rows.length === 0 && props.later ? (
        <EmptyLaterPage what="tenants" first={link({ window: props.window })} />
      ) : rows.length === 0 ? (
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
            {rows.map(({ tenant, stats }) => (
              <tr data-tenant={tenant}>
                <td>
                  <a href={CONSOLE_PATHS.tenant(tenant)}>{tenant}</a>
                </td>
                {stats ? (
                  <>
                    {statsColumns(stats[field]).map((value) => (
                      <td class="num">{cellText(value)}</td>
                    ))}
                    <td class="error">
                      <LastUpstreamError stats={stats} />
                    </td>
                  </>
                ) : (
                  <td class="muted" colspan={STATS_COLUMNS.length + 1}>
                    statistics unavailable: its Durable Object did not answer
                  </td>
                )}
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
