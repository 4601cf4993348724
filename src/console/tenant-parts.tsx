import { rateLimitText, redactionText } from "../admin/views.js";
import type { DeadLetterList, TenantStats, TenantView, WaitingTraces } from "./answers.js";
import { DeadLettersTable, ReplayAllForm } from "./dead-letters-table.js";
import { ConfirmForm, PostForm, Time } from "./layout.js";
import { countOf, countText } from "./numbers.js";
import { CONSOLE_PATHS } from "./paths.js";
import type { ConsoleSession } from "./session.js";
import { LastUpstreamError, LlmUsageTable, TrafficCharts, WindowsTable } from "./stats-parts.js";

// The sections of a tenant's page (tenant-page.tsx), each under its heading.

/** How the tenant is set up, its key never shown. */
export function TenantFacts({ tenant }: { tenant: TenantView }) {
  return (
    <>
      <h2>Configuration</h2>
      <dl class="facts">
        <dt>Parent</dt>
        <dd class="mono parent">{tenant.parent}</dd>
        <dt>Braintrust</dt>
        <dd class="mono">{tenant.braintrust.api_url}</dd>
        <dt>Auth</dt>
        <dd>
          {tenant.auth === "stored_key"
            ? "stored key (never shown); clients send ingest tokens"
            : "passthrough: clients send their own key"}
        </dd>
        <dt>Translate</dt>
        <dd>{String(tenant.translate)}</dd>
        <dt>Keep source attributes</dt>
        <dd>{String(tenant.keep_source_attributes)}</dd>
        <dt>Keep callers' parents</dt>
        <dd>{String(tenant.keep_caller_parent)}</dd>
        <dt>Drop non-AI spans</dt>
        <dd>{String(tenant.drop_non_ai_spans)}</dd>
        <dt>Parent from attribute</dt>
        <dd>{String(tenant.parent_from_attribute)}</dd>
        <dt>Redaction</dt>
        <dd>{redactionText(tenant.redact)}</dd>
        <dt>Rate limit</dt>
        <dd>{rateLimitText(tenant.rate_limit)}</dd>
        <dt>Created · updated</dt>
        <dd>
          <Time at={tenant.created_at} /> · <Time at={tenant.updated_at} />
        </dd>
      </dl>
    </>
  );
}

/** Its routes, in the order they are tried. */
export function TenantRoutes({ tenant }: { tenant: TenantView }) {
  return (
    <>
      <h2>Routes</h2>
      {tenant.routes.length === 0 && tenant.routed_until ? (
        <p class="muted">
          No routes. Routing stopped: until <Time at={tenant.routed_until} />, a trace decided before still goes to the parent it was
          decided for, and spans waiting for their trace go with it.
        </p>
      ) : tenant.routes.length === 0 ? (
        <p class="muted">No routes: every trace goes to the parent.</p>
      ) : (
        <div class="scroll">
          <table class="routes">
            <thead>
              <tr>
                <th>#</th>
                <th>Match</th>
                <th>Parent</th>
              </tr>
            </thead>
            <tbody>
              {tenant.routes.map((route, i) => (
                <tr>
                  <td>{i + 1}</td>
                  <td class="mono">{JSON.stringify(route.match)}</td>
                  <td class="mono">{route.parent}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

/** Its ingest tokens, each revocable, and a form to issue one; none for a passthrough tenant. */
export function TenantTokens({ tenant, session }: { tenant: TenantView; session: ConsoleSession }) {
  return (
    <>
      <h2>Tokens</h2>
      {tenant.auth === "passthrough" ? (
        <p class="muted">A passthrough tenant takes no ingest tokens: store a key below to use them.</p>
      ) : (
        <>
          {tenant.tokens.length === 0 ? (
            <p class="muted">No tokens.</p>
          ) : (
            <div class="scroll">
              <table class="tokens">
                <thead>
                  <tr>
                    <th>Token id</th>
                    <th>Created</th>
                    <th>
                      <span class="hidden-name">Revoke</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {tenant.tokens.map((token) => (
                    <tr data-token={token.id}>
                      <td class="mono">{token.id}</td>
                      <td>
                        <Time at={token.created_at} />
                      </td>
                      <td>
                        <ConfirmForm
                          action={CONSOLE_PATHS.revokeToken(tenant.id, token.id)}
                          session={session}
                          open="Revoke…"
                          warning="Requests with this token are refused from then on (within the time a change takes to apply)."
                          confirm={`Revoke ${token.id}`}
                          name={token.id}
                        />
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
          {/* Not in a <p>, which a form may not sit in: the browser would close it before the form. */}
          <div class="issue">
            <PostForm action={CONSOLE_PATHS.tokens(tenant.id)} session={session} class="inline">
              {/* A key of this page's own: pressed twice, the form replaces the token its first press issued. */}
              <input type="hidden" name="issue_key" value={crypto.randomUUID()} />
              <button type="submit">Issue a token</button>
            </PostForm>
          </div>
        </>
      )}
    </>
  );
}

/** Its traffic, queue and usage, from its Durable Object; traces waiting for their parent, for a tenant that routes. */
export function TenantStatistics({
  tenant,
  stats,
  waiting,
}: {
  tenant: TenantView;
  stats: TenantStats | "unavailable";
  waiting: WaitingTraces | "unavailable" | undefined;
}) {
  return (
    <>
      <h2>Statistics</h2>
      {stats === "unavailable" ? (
        <p class="muted unavailable">
          Statistics unavailable: the tenant's Durable Object could not answer for them. Reload the page to try again.
        </p>
      ) : (
        <>
          <TrafficCharts stats={stats} />
          <WindowsTable stats={stats} />
        </>
      )}
      <dl class="facts">
        {stats !== "unavailable" && (
          <>
            <dt>Requests by status (total)</dt>
            <dd>
              {Object.entries(stats.total.requests)
                .map(([status, n]) => `${status}: ${countText(n)}`)
                .join(", ") || "none"}
            </dd>
            <dt>Spans waiting in the queue</dt>
            <dd class="waiting">{countText(stats.waiting_in_queue)}</dd>
            <dt>Last delivery to Braintrust</dt>
            <dd class="last-delivery">
              {stats.last_delivered_at ? <Time at={stats.last_delivered_at} /> : <span class="muted">none</span>}
            </dd>
          </>
        )}
        {waiting && (
          <>
            <dt>Traces waiting for their parent</dt>
            <dd class="waiting-traces">
              {waiting === "unavailable"
                ? "unavailable: some of the tenant's trace-routes objects could not answer"
                : `${countOf(waiting.traces, "trace")}, ${countOf(waiting.spans, "span")} (decided within ${tenant.trace_wait_seconds} s at most)`}
            </dd>
          </>
        )}
        {stats !== "unavailable" && (
          <>
            <dt>Last upstream error</dt>
            <dd class="error">
              <LastUpstreamError stats={stats} />
            </dd>
          </>
        )}
      </dl>
      {stats !== "unavailable" && <LlmUsageTable usage={stats.last_24h.llm_usage} />}
    </>
  );
}

/** Its first page of dead letters, with replay. */
export function TenantDeadLetters(props: {
  tenant: TenantView;
  session: ConsoleSession;
  deadLetters: DeadLetterList | "unavailable";
  replayFrom: string | undefined;
}) {
  const { tenant, session, deadLetters } = props;
  return (
    <>
      <h2>Dead letters</h2>
      {deadLetters === "unavailable" ? (
        <p class="muted unavailable">
          Dead letters unavailable: they could not be listed. Reload the page, or open{" "}
          <a href={`${CONSOLE_PATHS.deadLetters}?${new URLSearchParams({ tenant: tenant.id })}`}>this tenant's dead letters</a>.
        </p>
      ) : (
        <>
          <DeadLettersTable session={session} deadLetters={deadLetters.dead_letters} tenant={tenant.id} />
          {deadLetters.cursor && (
            <p class="pager">
              <a href={`${CONSOLE_PATHS.deadLetters}?${new URLSearchParams({ tenant: tenant.id })}`}>All of this tenant's dead letters →</a>
            </p>
          )}
          {deadLetters.dead_letters.length > 0 && (
            <ReplayAllForm session={session} tenant={tenant.id} from={props.replayFrom} label="Replay all of this tenant's dead letters" />
          )}
        </>
      )}
    </>
  );
}

/** Deleting it, confirmed by typing its id; `refused`: why the last try was refused. */
export function DeleteTenantForm({
  tenant,
  session,
  refused,
}: {
  tenant: TenantView;
  session: ConsoleSession;
  refused: string | undefined;
}) {
  return (
    <>
      <h2 id="delete">Delete</h2>
      <PostForm action={CONSOLE_PATHS.deleteTenant(tenant.id)} session={session} class="card">
        <label>
          Type the tenant id to delete it, with its dead letters (its queued retries are dropped)
          <input
            type="text"
            name="confirm"
            required
            autocomplete="off"
            {...(refused ? { "aria-invalid": "true", "aria-describedby": "error-confirm" } : {})}
          />
          {refused && (
            <span class="field-error" id="error-confirm">
              {refused}
            </span>
          )}
        </label>
        <div>
          <button type="submit" class="danger">
            Delete tenant
          </button>
        </div>
      </PostForm>
    </>
  );
}
