import { Layout, Notice } from "./layout.js";
import { CONSOLE_PATHS } from "./paths.js";
import { SESSION_SECONDS } from "./session.js";

/** The admin token goes in a form field, POSTed: never in a URL, where logs and history would keep it. */
export function LoginPage(props: { error?: string }) {
  return (
    <Layout title="Log in">
      <h1>Log in</h1>
      <p class="sub">With the relay's admin token (the ADMIN_TOKEN secret). The session lasts {SESSION_SECONDS / 60} minutes.</p>
      {props.error && <Notice tone="error">{props.error}</Notice>}
      <form method="post" action={CONSOLE_PATHS.login} class="card login">
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
    </Layout>
  );
}
