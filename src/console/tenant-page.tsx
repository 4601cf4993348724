import { rateLimitText } from "../admin/views.js";
import type { DeadLetterList, IssuedToken, TenantStats, TenantView, WaitingTraces } from "./answers.js";
import { DeadLettersTable, ReplayAllForm } from "./dead-letters-table.js";
import { ConfirmForm, Layout, Notice, PostForm, Time } from "./layout.js";
import { countOf, countText } from "./numbers.js";
import { CONSOLE_PATHS } from "./paths.js";
import type { ConsoleSession } from "./session.js";
import { LastUpstreamError, LlmUsageTable, TrafficCharts, WindowsTable } from "./stats-parts.js";
import { type RefusedForm, RefusedNotice, TenantForm } from "./tenant-form.js";

export interface TenantPageData {
  tenant: TenantView;
  /** The tenant's ETag as read, so its form saves only over what it shows. */
  revision: string | undefined;
  /** "unavailable": the admin API could not read them (the tenant's object did not answer, say). */
  stats: TenantStats | "unavailable";
  deadLetters: DeadLetterList | "unavailable";
  /** Traces waiting for their parent to be decided; only for a tenant that routes. */
  waiting: WaitingTraces | "unavailable" | undefined;
  /** The full URL the gateway's Traces endpoint takes, at the address the console was opened on. */
  ingestUrl: string;
}

/** One tenant: its configuration (never its key), tokens, routes, statistics and dead letters, with every action on them. */
export function TenantPage(props: {
  session: ConsoleSession;
  data: TenantPageData;
  issued?: IssuedToken;
  notice?: string | undefined;
  /** Where "replay all" goes on from, after a replay that left more. */
  replayFrom?: string | undefined;
  /** The form as sent, when the admin API refused it. */
  refused?: RefusedForm;
  /** Why a deletion was refused: the id typed to confirm it was not the tenant's. */
  deleteRefused?: string;
}) {
  const { tenant, stats, deadLetters, waiting, ingestUrl } = props.data;
  const { session } = props;
  return (
    <Layout title={tenant.id} session={session}>
      <h1>{tenant.id}</h1>
      <p class="sub">
        Ingest endpoint: <code class="ingest-url">{ingestUrl}</code>
      </p>
      {props.notice && <Notice>{props.notice}</Notice>}
      {props.refused && <RefusedNotice refused={props.refused} tenant={tenant} below="change" />}
      {props.deleteRefused && (
        <Notice tone="error">
          Not deleted: {props.deleteRefused}. <a href="#delete">Delete it below</a>.
        </Notice>
      )}
      {props.issued && (
        <div class="issued">
          <Notice>Token {props.issued.id} issued. It is shown only now: put it in the gateway's Authorization header (Bearer …).</Notice>
          <code class="token">{props.issued.token}</code>
        </div>
      )}

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
        <dt>Rate limit</dt>
        <dd>{rateLimitText(tenant.rate_limit)}</dd>
        <dt>Created · updated</dt>
        <dd>
          <Time at={tenant.created_at} /> · <Time at={tenant.updated_at} />
        </dd>
      </dl>

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

      <h2 id="change">Change</h2>
      <TenantForm session={session} tenant={tenant} revision={props.data.revision} {...(props.refused ? { refused: props.refused } : {})} />

      <h2 id="delete">Delete</h2>
      <PostForm action={CONSOLE_PATHS.deleteTenant(tenant.id)} session={session} class="card">
        <label>
          Type the tenant id to delete it, with its dead letters (its queued retries are dropped)
          <input
            type="text"
            name="confirm"
            required
            autocomplete="off"
            {...(props.deleteRefused ? { "aria-invalid": "true", "aria-describedby": "error-confirm" } : {})}
          />
          {props.deleteRefused && (
            <span class="field-error" id="error-confirm">
              {props.deleteRefused}
            </span>
          )}
        </label>
        <div>
          <button type="submit" class="danger">
            Delete tenant
          </button>
        </div>
      </PostForm>
    </Layout>
  );
}
