import { MAX_REPLAY_PAGE } from "../admin/limits.js";
import type { DeadLetter } from "./answers.js";
import { ConfirmForm, PostForm, Time } from "./layout.js";
import { countOf, countText } from "./numbers.js";
import { CONSOLE_PATHS } from "./paths.js";
import type { ConsoleSession } from "./session.js";

/**
 * Dead letters with the parent their spans were for and why they failed, each with replay and delete
 * (the CLI's `dead-letters replay --id` and `dead-letters delete`). `tenant` is the tenant page they
 * are shown on, where each form returns; elsewhere each names its tenant, a link to the tenant's page
 * (a deleted tenant's answers that it is no more), and each form returns to `returnList`, the dead
 * letters page as it is filtered and paged.
 */
export function DeadLettersTable(props: { session: ConsoleSession; deadLetters: DeadLetter[]; tenant?: string; returnList?: string }) {
  if (props.deadLetters.length === 0) return <p class="muted">No dead letters.</p>;
  const back = props.tenant ? (
    <input type="hidden" name="return_to" value={props.tenant} />
  ) : props.returnList ? (
    <input type="hidden" name="return_list" value={props.returnList} />
  ) : null;
  return (
    <div class="scroll">
      <table class="dead-letters">
        <thead>
          <tr>
            <th>Id</th>
            {!props.tenant && <th>Tenant</th>}
            <th>Parent</th>
            <th class="num">Spans</th>
            <th class="num">Attempts</th>
            <th>Dead-lettered</th>
            <th>Reason</th>
            <th>
              <span class="hidden-name">Replay or delete</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {props.deadLetters.map((d) => (
            <tr data-dead-letter={d.id}>
              <td class="mono">{d.id}</td>
              {!props.tenant && (
                <td>
                  <a href={CONSOLE_PATHS.tenant(d.tenant)}>{d.tenant}</a>
                </td>
              )}
              <td class="mono">{d.parent}</td>
              <td class="num">{countText(d.spans)}</td>
              <td class="num">{countText(d.attempts)}</td>
              <td>
                <Time at={d.dead_lettered_at} />
              </td>
              <td class="error reason">{d.reason}</td>
              <td>
                <PostForm action={CONSOLE_PATHS.replay} session={props.session} class="inline">
                  <input type="hidden" name="id" value={d.id} />
                  {back}
                  <button type="submit" aria-label={`Replay dead letter ${d.id}`}>
                    Replay
                  </button>
                </PostForm>{" "}
                <ConfirmForm
                  action={CONSOLE_PATHS.deleteDeadLetter(d.id)}
                  session={props.session}
                  open="Delete…"
                  warning={`Its spans (${countOf(d.spans, "span")}) are gone for good.`}
                  confirm="Delete dead letter"
                  name={d.id}
                >
                  {back}
                </ConfirmForm>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/**
 * Replays a tenant's dead letters, or everyone's: a page a press (the CLI's `dead-letters replay
 * --tenant` or `--all` loops the pages), behind a second press that says what it does. `from`: where
 * the last press stopped, when it left more; going on from there is one press, the replay being asked for.
 */
export function ReplayAllForm(props: { session: ConsoleSession; tenant?: string; from?: string | undefined; label: string }) {
  const target = props.tenant ? (
    <>
      <input type="hidden" name="tenant" value={props.tenant} />
      <input type="hidden" name="return_to" value={props.tenant} />
    </>
  ) : (
    <input type="hidden" name="all" value="true" />
  );
  if (props.from) {
    return (
      <PostForm action={CONSOLE_PATHS.replay} session={props.session}>
        {target}
        <input type="hidden" name="cursor" value={props.from} />
        <button type="submit">Replay the next dead letters</button>
      </PostForm>
    );
  }
  const whose = props.tenant ? "this tenant's dead letters" : "every tenant's dead letters";
  return (
    <ConfirmForm
      action={CONSOLE_PATHS.replay}
      session={props.session}
      tone="plain"
      open={`${props.label}…`}
      warning={`Puts ${whose} back on the delivery queue, ${MAX_REPLAY_PAGE} a press; spans Braintrust still refuses come back as dead letters.`}
      confirm={props.label}
    >
      {target}
    </ConfirmForm>
  );
}
