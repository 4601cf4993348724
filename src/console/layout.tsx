import type { Context } from "hono";
import type { Child, PropsWithChildren } from "hono/jsx";
import type { HtmlEscapedString } from "hono/utils/html";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { errorHeaders, type RelayError } from "../http/errors.js";
import type { ConsoleEnv } from "./console-env.js";
import { CONSOLE_PATHS } from "./paths.js";
import type { ConsoleSession } from "./session.js";

/** The pages the header links to, each marked as the current page on itself. */
type Section = "tenants" | "stats" | "dead letters";

/** The frame of every console page. Text only goes in as JSX children and attributes, which escape it. */
export function Layout(props: PropsWithChildren<{ title: string; session?: ConsoleSession | undefined; section?: Section }>) {
  const current = (section: Section) => (props.section === section ? { "aria-current": "page" as const } : {});
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{props.title} · tfy-relay console</title>
        <link rel="stylesheet" href={CONSOLE_PATHS.style} />
      </head>
      <body>
        <a class="skip" href="#content">
          Skip to the page
        </a>
        <header class="top">
          <a class="brand" href={CONSOLE_PATHS.home}>
            tfy-relay console
          </a>
          {props.session && (
            <nav>
              <a href={CONSOLE_PATHS.home} {...current("tenants")}>
                Tenants
              </a>
              <a href={CONSOLE_PATHS.stats} {...current("stats")}>
                Statistics
              </a>
              <a href={CONSOLE_PATHS.deadLetters} {...current("dead letters")}>
                Dead letters
              </a>
              <PostForm action={CONSOLE_PATHS.logout} session={props.session} class="inline">
                <button type="submit">Log out</button>
              </PostForm>
            </nav>
          )}
        </header>
        <main id="content">{props.children}</main>
      </body>
    </html>
  );
}

/** A form that changes something: POSTed, with the session's CSRF token. */
export function PostForm(props: PropsWithChildren<{ action: string; session: ConsoleSession; class?: string }>) {
  return (
    <form method="post" action={props.action} class={props.class}>
      <input type="hidden" name="csrf" value={props.session.csrfToken} />
      {props.children}
    </form>
  );
}

/**
 * An action that cannot be undone, behind a second press: the first opens it and says what it does,
 * the second (the form's button) does it. A <details>, so it needs no script.
 */
export function ConfirmForm(
  props: PropsWithChildren<{
    action: string;
    session: ConsoleSession;
    open: string;
    warning: string;
    confirm: string;
    /** plain: an action to do with care rather than a loss, such as a replay of many dead letters. */
    tone?: "danger" | "plain";
    /** What it acts on, for a row's form: its controls are named after it, so a screen reader tells the rows apart. */
    name?: string;
  }>,
) {
  const tone = props.tone ?? "danger";
  const named = (label: string) => (props.name === undefined || label.includes(props.name) ? undefined : `${label} ${props.name}`);
  return (
    <details class={`confirm ${tone}`}>
      <summary aria-label={named(props.open)}>{props.open}</summary>
      <PostForm action={props.action} session={props.session} class="confirm">
        {props.children}
        <span class="warning">{props.warning}</span>{" "}
        <button type="submit" class={tone === "danger" ? "danger" : "primary"} aria-label={named(props.confirm)}>
          {props.confirm}
        </button>
      </PostForm>
    </details>
  );
}

/**
 * A moment the relay recorded (an ISO 8601 string, in UTC), as an operator reads it: to the second,
 * saying its zone, where the raw form's trailing Z and milliseconds read as noise. The machine form stays in `datetime`.
 */
export function Time(props: { at: string }) {
  const at = new Date(props.at);
  const shown = Number.isNaN(at.getTime()) ? props.at : `${at.toISOString().slice(0, 19).replace("T", " ")} UTC`;
  return <time datetime={props.at}>{shown}</time>;
}

/**
 * A later page of a list that has nothing on it: the list ended on the page before (a store's cursor
 * can stop just short of its end), or what was on it went since its link was made. Not "none yet":
 * the list may be long; the way back is to its first page.
 */
export function EmptyLaterPage(props: { what: string; first: string }) {
  return (
    <p class="muted empty-page">
      No {props.what} on this page. <a href={props.first}>Back to the first page</a>.
    </p>
  );
}

export function Notice(props: { children: Child; tone?: "ok" | "error" }) {
  return (
    <p class={`notice ${props.tone ?? "ok"}`} role="status">
      {props.children}
    </p>
  );
}

/** A page as the browser gets it: a document, never cached, since pages show tenants' settings and new tokens. */
export async function renderPage(
  c: Context<ConsoleEnv>,
  page: HtmlEscapedString | Promise<HtmlEscapedString>,
  status: ContentfulStatusCode = 200,
): Promise<Response> {
  c.header("cache-control", "no-store");
  return c.html(`<!DOCTYPE html>${await page}`, status);
}

/** A page that shows a refusal: its status, with the headers that status calls for (Retry-After, WWW-Authenticate, Allow). */
export function renderRefusal(
  c: Context<ConsoleEnv>,
  page: HtmlEscapedString | Promise<HtmlEscapedString>,
  refusal: RelayError,
): Promise<Response> {
  for (const [name, value] of errorHeaders(refusal)) c.header(name, value);
  return renderPage(c, page, refusal.status);
}
