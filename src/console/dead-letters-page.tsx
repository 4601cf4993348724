import type { DeadLetterList } from "./answers.js";
import { DeadLettersTable } from "./dead-letters-table.js";
import { Layout, Notice } from "./layout.js";
import { CONSOLE_PATHS } from "./paths.js";
import type { ConsoleSession } from "./session.js";

/** Every dead letter, a page at a time, those of deleted tenants included (the CLI's `dead-letters list`). */
export function DeadLettersPage(props: {
  session: ConsoleSession;
  list: DeadLetterList;
  tenant?: string | undefined;
  notice?: string | undefined;
}) {
  const next = props.list.cursor && new URLSearchParams({ ...(props.tenant ? { tenant: props.tenant } : {}), cursor: props.list.cursor });
  return (
    <Layout title="Dead letters" session={props.session}>
      <h1>Dead letters{props.tenant ? ` of ${props.tenant}` : ""}</h1>
      <p class="sub">Deliveries no retry could complete, kept with their spans until replayed or deleted.</p>
      {props.notice && <Notice>{props.notice}</Notice>}
      <DeadLettersTable session={props.session} deadLetters={props.list.dead_letters} />
      {next && (
        <p class="pager">
          <a href={`${CONSOLE_PATHS.deadLetters}?${next}`}>Next dead letters →</a>
        </p>
      )}
    </Layout>
  );
}
