import { Layout, Notice } from "./layout.js";
import { CONSOLE_PATHS } from "./paths.js";
import type { ConsoleSession } from "./session.js";

/**
 * A refusal, in the admin API's own words (the same message the CLI prints), with the way back: a
 * form (`changed`) was not carried out; a page (a link, an address typed) could not be shown.
 */
export function ErrorPage(props: { status: number; message: string; changed: boolean; session?: ConsoleSession | undefined }) {
  return (
    <Layout title="Refused" session={props.session}>
      <h1>
        {props.changed ? "Not done" : "Cannot show this page"} ({props.status})
      </h1>
      <Notice tone="error">{props.message}</Notice>
      <p>
        {props.changed ? "Go back to change what you sent, or to " : "Go back, or to "}
        <a href={CONSOLE_PATHS.home}>the tenants</a>.
      </p>
    </Layout>
  );
}
