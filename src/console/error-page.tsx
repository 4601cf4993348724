import { Layout, Notice } from "./layout.js";
import { CONSOLE_PATHS } from "./paths.js";
import type { ConsoleSession } from "./session.js";

/** A refusal, in the admin API's own words (the same message the CLI prints), with the way back. */
export function ErrorPage(props: { status: number; message: string; session?: ConsoleSession | undefined }) {
  return (
    <Layout title="Refused" session={props.session}>
      <h1>Not done ({props.status})</h1>
      <Notice tone="error">{props.message}</Notice>
      <p>
        Go back to change what you sent, or to <a href={CONSOLE_PATHS.home}>the tenants</a>.
      </p>
    </Layout>
  );
}
