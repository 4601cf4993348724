import type { TenantView } from "./answers.js";
import { PostForm } from "./layout.js";
import { CONSOLE_PATHS } from "./paths.js";
import type { ConsoleSession } from "./session.js";
import { settingsOf } from "./tenant-input.js";

/**
 * Create a tenant, or replace one (the admin API's PUT): the CLI's `tenants put` with its flags as
 * fields and `--config` as the settings JSON. The stored key is never shown; it is kept unless replaced.
 * A tenant's form carries the revision it shows (see tenant-routes.tsx).
 */
export function TenantForm(props: { session: ConsoleSession; tenant?: TenantView; revision?: string | undefined }) {
  const { tenant } = props;
  return (
    <PostForm action={CONSOLE_PATHS.tenants} session={props.session} class="card tenant-form">
      {tenant ? (
        <>
          <input type="hidden" name="tenant" value={tenant.id} />
          <input type="hidden" name="revision" value={props.revision ?? ""} />
        </>
      ) : (
        <label>
          Tenant id <span class="hint">1-64 characters of a-z, 0-9, - and _; the ingest path is /t/&lt;id&gt;/v1/traces</span>
          <input type="text" name="tenant" required pattern="[a-z0-9_\-]{1,64}" autocomplete="off" />
        </label>
      )}
      <label>
        Parent <span class="hint">project_name:…, project_id:… or experiment_id:…</span>
        <input type="text" name="parent" required value={tenant?.parent ?? ""} autocomplete="off" />
      </label>
      <label>
        Braintrust API URL <span class="hint">empty: https://api.braintrust.dev</span>
        <input type="text" name="api_url" value={tenant?.braintrust.api_url ?? ""} autocomplete="off" />
      </label>
      <fieldset>
        <legend>Braintrust API key</legend>
        {tenant && (
          <label>
            <span>
              <input type="radio" name="key" value="keep" checked /> keep as it is (
              {tenant.auth === "stored_key" ? "a key is stored; it is never shown" : "passthrough: clients send their own key"})
            </span>
          </label>
        )}
        {/* For a passthrough tenant, keeping it as it is is already passthrough: one choice, not two. */}
        {tenant?.auth !== "passthrough" && (
          <label>
            <span>
              <input type="radio" name="key" value="passthrough" checked={!tenant} /> passthrough: clients send their own key
              {tenant && " (removes the stored key and its tokens)"}
            </span>
          </label>
        )}
        <label>
          <span>
            <input type="radio" name="key" value="store" /> store this key (write-only), clients use ingest tokens
          </span>
        </label>
        {/* Its own label: a label names only its first field, so inside the radio's it had none. */}
        <label>
          <span class="hint">Braintrust API key to store</span>
          <input type="password" name="api_key" autocomplete="new-password" />
        </label>
      </fieldset>
      <label>
        Settings{" "}
        <span class="hint">JSON: routes, translate, redact, rate_limit, … (README: Routes, translation, filtering and redaction)</span>
        <textarea name="settings" spellcheck={false}>
          {tenant ? settingsOf(tenant) : "{}"}
        </textarea>
      </label>
      <div>
        <button type="submit" class="primary">
          {tenant ? "Save tenant" : "Create tenant"}
        </button>
      </div>
    </PostForm>
  );
}
