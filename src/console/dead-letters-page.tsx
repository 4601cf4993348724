import type { DeadLetterList } from "./answers.js";
import { DeadLettersTable } from "./dead-letters-table.js";
import { EmptyLaterPage, Layout, Notice } from "./layout.js";
import { CONSOLE_PATHS } from "./paths.js";
import type { ConsoleSession } from "./session.js";

/** Every dead letter, a page at a time, those of deleted tenants included (the CLI's `dead-letters list`). */
export function DeadLettersPage(props: {
  session: ConsoleSession;
  list: DeadLetterList;
  tenant?: string | undefined;
  /** The cursor followed to this page, past the first. */
  cursor?: string | undefined;
  notice?: string | undefined;
}) {
  const whose: Record<string, string> = props.tenant ? { tenant: props.tenant } : {};
  const later = props.cursor !== undefined;
  const link = (query: Record<string, string>) =>
    Object.keys(query).length > 0 ? `${CONSOLE_PATHS.deadLetters}?${new URLSearchParams(query)}` : CONSOLE_PATHS.deadLetters;
  return (
    <Layout title="Dead letters" session={props.session} section="dead letters">
      <h1>Dead letters{props.tenant ? ` of ${props.tenant}` : ""}</h1>
      <p class="sub">Deliveries no retry could complete, kept with their spans until replayed or deleted.</p>
      {props.notice && <Notice>{props.notice}</Notice>}
      <form method="get" action={CONSOLE_PATHS.deadLetters} class="filter">
        <label>
          Tenant <input type="text" name="tenant" pattern="[a-z0-9_\-]{1,64}" autocomplete="off" value={props.tenant ?? ""} />
        </label>{" "}
        <button type="submit">Show its dead letters</button>
        {props.tenant && (
          <>
            {" "}
            <a href={CONSOLE_PATHS.deadLetters}>All tenants</a>
          </>
        )}
      </form>
      {props.list.dead_letters.length === 0 && later ? (
        <EmptyLaterPage what="dead letters" first={link(whose)} />
      ) : (
        <DeadLettersTable
          session={props.session}
          deadLetters={props.list.dead_letters}
          returnList={link({ ...whose, ...(props.cursor ? { cursor: props.cursor } : {}) })}
        />
      )}
      {props.list.cursor && (
        <p class="pager">
          <a href={link({ ...whose, cursor: props.list.cursor })}>Next dead letters →</a>
        </p>
      )}
    </Layout>
  );
}
