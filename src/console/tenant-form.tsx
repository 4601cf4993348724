import { DEFAULT_API_URL, TENANT_ID_RULE } from "../tenants/schema.js";
import type { TenantView } from "./answers.js";
import { Notice, PostForm } from "./layout.js";
import { CONSOLE_PATHS } from "./paths.js";
import type { ConsoleSession } from "./session.js";
import { type EnteredField, settingsOf } from "./tenant-input.js";

/** The form's own controls that a refusal can name; anything else the API names is in the settings JSON. */
type Control = "tenant" | "parent" | "api_url" | "api_key" | "settings";

/** The headers of a save's condition (src/admin/preconditions.ts), which the admin API names as the field at fault. */
const PRECONDITIONS = new Set(["If-Match", "If-None-Match"]);

/** What was sent, shown again with the refusal beside the field at fault. The key to store is never shown again. */
export interface RefusedForm {
  entered: Partial<Record<EnteredField, string>>;
  /** The field as the admin API names it (`parent`, `braintrust.api_url`, `routes.0.parent`, …) and its message. */
  error: { field: string; message: string };
}

/**
 * The control of the form a refused field is typed in, if it has one: a tenant's own form has no
 * field for its id, and the revision it saves over goes as a request header (If-Match), typed
 * nowhere. Those are said at the top of the page only; anything else is the settings JSON's.
 */
function controlOf(field: string, tenant: TenantView | undefined): Control | undefined {
  if (field === "tenant") return tenant ? undefined : "tenant";
  if (field === "parent") return field;
  if (field === "braintrust.api_url") return "api_url";
  if (field === "braintrust.api_key" || field === "api_key") return "api_key";
  if (PRECONDITIONS.has(field)) return undefined;
  return "settings";
}

/**
 * A refused form, said at the top of its page: what was not done and why, and a link down to the form
 * (the heading `below` names) when a field of it is at fault, beside which the form says it again.
 */
export function RefusedNotice(props: { refused: RefusedForm; tenant?: TenantView; below: string }) {
  const { field, message } = props.refused.error;
  return (
    <Notice tone="error">
      {props.tenant ? "Not saved" : "Not created"}: {message}.
      {controlOf(field, props.tenant) && (
        <>
          {" "}
          <a href={`#${props.below}`}>Change it below</a>.
        </>
      )}
    </Notice>
  );
}

/**
 * Create a tenant, or replace one (the admin API's PUT): the CLI's `tenants put` with its flags as
 * fields and `--config` as the settings JSON. The stored key is never shown; it is kept unless replaced.
 * A tenant's form carries the revision it shows, and goes to the tenant's address (see tenant-routes.tsx).
 */
export function TenantForm(props: { session: ConsoleSession; tenant?: TenantView; revision?: string | undefined; refused?: RefusedForm }) {
  const { tenant } = props;
  const entered = props.refused?.entered ?? {};
  const error = props.refused?.error;
  // The page says the refusal at its top (RefusedNotice); here, beside the field at fault, if the form has one.
  const at = error && controlOf(error.field, tenant);
  /** The attributes tying a control to its refusal, and the refusal itself, beside the control. */
  const invalid = (control: Control) => (at === control ? { "aria-invalid": "true", "aria-describedby": `error-${control}` } : {});
  const FieldError = (p: { control: Control }) =>
    at === p.control ? (
      <span class="field-error" id={`error-${p.control}`}>
        {error?.message}
      </span>
    ) : null;
  const key = entered.key ?? (tenant ? "keep" : "passthrough");
  return (
    // A tenant's form is sent to the tenant's own address, which a refusal's page then has, and a reload opens.
    <PostForm action={tenant ? CONSOLE_PATHS.tenant(tenant.id) : CONSOLE_PATHS.tenants} session={props.session} class="card tenant-form">
      {tenant ? (
        <input type="hidden" name="revision" value={props.revision ?? ""} />
      ) : (
        <label>
          Tenant id <span class="hint">{TENANT_ID_RULE}; the ingest path is /t/&lt;id&gt;/v1/traces</span>
          <input
            type="text"
            name="tenant"
            required
            pattern="[a-z0-9_\-]{1,64}"
            autocomplete="off"
            value={entered.tenant ?? ""}
            {...invalid("tenant")}
          />
          <FieldError control="tenant" />
        </label>
      )}
      <label>
        Parent <span class="hint">project_name:…, project_id:… or experiment_id:…</span>
        <input
          type="text"
          name="parent"
          required
          value={entered.parent ?? tenant?.parent ?? ""}
          autocomplete="off"
          {...invalid("parent")}
        />
        <FieldError control="parent" />
      </label>
      <label>
        Braintrust API URL <span class="hint">empty: {DEFAULT_API_URL}</span>
        <input
          type="text"
          name="api_url"
          value={entered.api_url ?? tenant?.braintrust.api_url ?? ""}
          autocomplete="off"
          {...invalid("api_url")}
        />
        <FieldError control="api_url" />
      </label>
      <fieldset>
        <legend>Braintrust API key</legend>
        {tenant && (
          <label>
            <span>
              <input type="radio" name="key" value="keep" checked={key === "keep"} /> keep as it is (
              {tenant.auth === "stored_key" ? "a key is stored; it is never shown" : "passthrough: clients send their own key"})
            </span>
          </label>
        )}
        {/* For a passthrough tenant, keeping it as it is is already passthrough: one choice, not two. */}
        {tenant?.auth !== "passthrough" && (
          <label>
            <span>
              <input type="radio" name="key" value="passthrough" checked={key === "passthrough"} /> passthrough: clients send their own key
              {tenant && " (removes the stored key and its tokens)"}
            </span>
          </label>
        )}
        <label>
          <span>
            <input type="radio" name="key" value="store" checked={key === "store"} /> store this key (write-only), clients use ingest tokens
          </span>
        </label>
        {/* Its own label: a label names only its first field, so inside the radio's it had none. */}
        <label>
          <span class="hint">Braintrust API key to store</span>
          <input type="password" name="api_key" autocomplete="new-password" {...invalid("api_key")} />
          <FieldError control="api_key" />
          {/* The key typed is never sent back: said, so the next press does not go without it. */}
          {props.refused && key === "store" && at !== "api_key" && (
            <span class="field-error key-again">Not shown again, for safety: type the key again before saving.</span>
          )}
        </label>
      </fieldset>
      <label>
        Settings{" "}
        <span class="hint">JSON: routes, translate, redact, rate_limit, … (README: Routes, translation, filtering and redaction)</span>
        <textarea name="settings" spellcheck={false} {...invalid("settings")}>
          {entered.settings ?? (tenant ? settingsOf(tenant) : "{}")}
        </textarea>
        <FieldError control="settings" />
        {/* Withheld (tenant-routes.tsx): said, so the next press does not go with other settings than meant. */}
        {props.refused && entered.settings === undefined && (
          <span class="field-error settings-again">Not shown again, for safety, as it may hold a key: type the settings again.</span>
        )}
      </label>
      {/* Refused for a change made meanwhile: the settings it made, which the page shows nowhere else, beside what was sent. */}
      {tenant && error?.field === "If-Match" && (
        <details open class="settings-now">
          <summary>The settings as they are now</summary>
          <pre>{settingsOf(tenant)}</pre>
        </details>
      )}
      <div>
        <button type="submit" class="primary">
          {tenant ? "Save tenant" : "Create tenant"}
        </button>
      </div>
    </PostForm>
  );
}
