import { Layout, Notice } from "./layout.js";
import { CONSOLE_PATHS } from "./paths.js";
import { SESSION_MAX_SECONDS, SESSION_SECONDS } from "./session.js";

/**
 * The admin token goes in a form field, POSTed: never in a URL, where logs and history would keep it.
 * `plainHttp`: the page was reached over http at a host other than localhost, where the token would
 * travel in clear (the CLI refuses such a --url for the same reason) and a browser drops the session's
 * Secure cookie, so a login would lead back here: the page offers no form to type it into.
 */
export function LoginPage(props: { error?: string; plainHttp?: boolean; next?: string | undefined }) {
  return (
    <Layout title="Log in">
      <h1>Log in</h1>
      <p class="sub">
        With the relay's admin token (the ADMIN_TOKEN secret). The session ends after about {SESSION_SECONDS / 60} minutes unused, and{" "}
        {SESSION_MAX_SECONDS / 3600} hours after logging in.
      </p>
      {props.error && <Notice tone="error">{props.error}</Notice>}
      {props.plainHttp ? (
        <Notice tone="error">
          This page came over plain http: the admin token would travel in clear, and browsers keep the console's session cookie only over
          https or at localhost, so this page offers no login. Open the console over https, or at http://localhost or http://127.0.0.1.
        </Notice>
      ) : (
        <LoginForm next={props.next} />
      )}
    </Layout>
  );
}

/** The token's field, POSTed with the page to open once logged in. */
function LoginForm(props: { next?: string | undefined }) {
  return (
    <form method="post" action={CONSOLE_PATHS.login} class="card login">
      {props.next && <input type="hidden" name="next" value={props.next} />}
      <label>
        Admin token
        <input type="password" name="token" required autocomplete="current-password" autofocus />
      </label>
      <div>
        <button type="submit" class="primary">
          Log in
        </button>
      </div>
    </form>
  );
}
