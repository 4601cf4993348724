import type { DeadLetterList, IssuedToken, TenantStats, TenantView, WaitingTraces } from "./answers.js";
import { Layout, Notice } from "./layout.js";
import type { ConsoleSession } from "./session.js";
import { type RefusedForm, RefusedNotice, TenantForm } from "./tenant-form.js";
import { DeleteTenantForm, TenantDeadLetters, TenantFacts, TenantRoutes, TenantStatistics, TenantTokens } from "./tenant-parts.js";

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

      <TenantFacts tenant={tenant} />
      <TenantRoutes tenant={tenant} />
      <TenantTokens tenant={tenant} session={session} />
      <TenantStatistics tenant={tenant} stats={stats} waiting={waiting} />
      <TenantDeadLetters tenant={tenant} session={session} deadLetters={deadLetters} replayFrom={props.replayFrom} />

      <h2 id="change">Change</h2>
      <TenantForm session={session} tenant={tenant} revision={props.data.revision} {...(props.refused ? { refused: props.refused } : {})} />

      <DeleteTenantForm tenant={tenant} session={session} refused={props.deleteRefused} />
    </Layout>
  );
}
