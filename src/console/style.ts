/**
 * The console's one stylesheet, served by the Worker (`style-src 'self'`: no inline styles, no
 * third-party assets). Charts are coloured here too: their SVG carries classes, not styles.
 */
export const CONSOLE_CSS = `
:root { color-scheme: light; --ink: #1d2430; --muted: #5b6575; --line: #d9dee6; --bg: #f6f7f9; --accent: #2f5bd3; --bad: #c23b22; --ok: #1f7a4d; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); background: var(--bg); }
header.top { display: flex; flex-wrap: wrap; gap: 6px 18px; align-items: center; justify-content: space-between; padding: 10px 24px; background: #1d2430; color: #fff; }
header.top a { color: #fff; text-decoration: none; margin-right: 18px; }
header.top .brand { font-weight: 600; }
header.top nav a[aria-current=page] { text-decoration: underline; text-underline-offset: 6px; text-decoration-thickness: 2px; }
/* Out of sight until a keyboard reaches it, first on the page. */
.skip { position: absolute; left: -10000px; top: 8px; }
.skip:focus { left: 8px; z-index: 1; padding: 6px 10px; background: #fff; color: var(--ink); }
/* A name screen readers read, such as an action column's, which sighted users take from its buttons. */
.hidden-name { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
header.top nav { display: flex; flex-wrap: wrap; align-items: center; row-gap: 6px; }
main { padding: 20px 24px 48px; max-width: 1400px; }
h1 { font-size: 20px; margin: 0 0 4px; overflow-wrap: anywhere; }
h2 { font-size: 16px; margin: 28px 0 8px; }
p.sub { color: var(--muted); margin: 0 0 16px; }
/* A table wider than the window scrolls in its own box: the page never scrolls sideways. */
.scroll { overflow-x: auto; max-width: 100%; }
.scroll td.mono { min-width: 12em; }
table { border-collapse: collapse; background: #fff; border: 1px solid var(--line); width: 100%; }
th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: middle; }
p.caption { color: var(--muted); font-size: 12px; margin: 8px 0 4px; }
th { font-weight: 600; color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .02em; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td.error { color: var(--bad); max-width: 360px; overflow-wrap: anywhere; }
td.error { min-width: 180px; }
table.tenants .chart { width: 90px; height: 32px; }
.last-error time { display: block; color: var(--muted); font-size: 12px; }
.last-error.past { color: var(--muted); }
ul.health { margin: 0; padding: 0; list-style: none; min-width: 10em; font-size: 13px; }
ul.health li.bad { color: var(--bad); }
ul.health li.watch { color: var(--muted); }
.health.ok { color: var(--ok); font-weight: 600; }
/* Not a notice: a notice says what an action did; this is the state of the tenants. */
p.attention { padding: 8px 12px; border-radius: 4px; background: #fbeae6; border: 1px solid #efc1b6; color: #7a1f0d; }
p.attention a { color: inherit; font-weight: 600; }
/*
 * The overview's ten columns at their narrowest (about 1210 px, for tenants of both auth modes with
 * errors, dead letters and LLM usage) fit a 1280 px window with a scrollbar beside it (1215 px inside
 * main's padding), rather than scroll in their box: cells a little closer, charts a little narrower
 * (above), a tenant id and a parent wrapped and cut sooner (the parent whole in its title), health
 * and the last error (td.error) a little narrower. Wider, the table grows into the room.
 */
table.tenants th, table.tenants td { padding: 6px 8px; }
/* An unbroken id, the longest, would push a table's counts out of the window. */
table.tenants td:first-child, table.stats td:first-child { min-width: 8em; max-width: 220px; overflow-wrap: anywhere; }
table.tenants td.parent { white-space: nowrap; max-width: 180px; overflow: hidden; text-overflow: ellipsis; }
/* On a phone, a tenant a card, each value under its heading: health first, none of it scrolled out of sight. */
@media (max-width: 640px) {
  table.tenants thead { display: none; }
  table.tenants, table.tenants tbody, table.tenants tr, table.tenants td { display: block; width: 100%; }
  table.tenants tr { border-bottom: 2px solid var(--line); padding: 6px 0; }
  table.tenants td { border: 0; padding: 3px 10px; text-align: left; max-width: none; min-width: 0; }
  table.tenants td:first-child { font-weight: 600; max-width: none; }
  /* Not cut at the desktop's 180 px: that bound left the parent a column of a few characters. */
  table.tenants td.parent { white-space: normal; overflow-wrap: anywhere; max-width: none; }
  /* In px, not em: the parent's monospace is smaller, and in em its value would start left of the others. */
  table.tenants td[data-label] { display: grid; grid-template-columns: 112px minmax(0, 1fr); gap: 8px; align-items: center; }
  table.tenants td[data-label]::before { content: attr(data-label); color: var(--muted); font-size: 11px; text-transform: uppercase; letter-spacing: .02em; }
}
code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12.5px; overflow-wrap: anywhere; }
pre { background: #fff; border: 1px solid var(--line); padding: 10px; overflow: auto; max-height: 320px; }
.chart rect { fill: var(--accent); }
.chart.errors rect { fill: var(--bad); }
.chart .baseline { stroke: var(--line); stroke-width: 1; }
.chart .max { stroke: var(--line); stroke-width: 1; stroke-dasharray: 3 2; }
/* The scale, left of the bars: the busiest minute's number level with the top line, 0 with the baseline. */
.minute-chart { display: inline-flex; align-items: stretch; gap: 4px; vertical-align: middle; }
.minute-chart .scale { display: flex; flex-direction: column; justify-content: space-between; min-width: 2ch; font-size: 10px; line-height: 1; color: var(--muted); text-align: right; font-variant-numeric: tabular-nums; }
.charts { display: flex; gap: 28px; flex-wrap: wrap; }
.charts figure { margin: 0; }
.charts figcaption { color: var(--muted); font-size: 12px; }
.notice { padding: 8px 12px; border-radius: 4px; background: #e6f4ec; border: 1px solid #b7dfc7; }
.notice.error { background: #fbeae6; border-color: #efc1b6; color: #7a1f0d; }
.token { display: block; padding: 10px; background: #fff; border: 2px dashed var(--ok); font-size: 14px; margin: 6px 0; user-select: all; }
form.inline { display: inline; margin: 0; }
.issue { margin: 1em 0; }
form.card { background: #fff; border: 1px solid var(--line); padding: 14px; display: grid; gap: 10px; max-width: 760px; }
form.card label { display: grid; gap: 4px; font-weight: 600; }
form.card fieldset { border: 1px solid var(--line); }
form.card .field-error { font-weight: 400; color: #7a1f0d; font-size: 13px; }
form.card [aria-invalid=true] { border-color: var(--bad); outline: 1px solid var(--bad); }
form.card .hint { font-weight: 400; color: var(--muted); font-size: 12px; }
input[type=text], input[type=password], textarea { font: inherit; font-weight: 400; padding: 6px 8px; border: 1px solid #b9c0cc; border-radius: 3px; width: 100%; }
textarea { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12.5px; min-height: 160px; }
button { font: inherit; padding: 5px 12px; border: 1px solid #9aa3b2; background: #fff; border-radius: 3px; cursor: pointer; }
button.primary { background: var(--accent); color: #fff; border-color: var(--accent); }
button.danger { color: var(--bad); border-color: var(--bad); }
details.confirm { display: inline-block; vertical-align: top; }
details.confirm > summary { display: inline-block; list-style: none; padding: 5px 12px; border: 1px solid var(--bad); border-radius: 3px; background: #fff; color: var(--bad); cursor: pointer; }
details.confirm > summary::-webkit-details-marker { display: none; }
details.confirm[open] > summary { background: #fbeae6; }
details.confirm.plain > summary { border-color: #9aa3b2; color: var(--ink); }
details.confirm.plain[open] > summary { background: #e9edf3; }
form.confirm { display: block; margin: 6px 0 0; }
form.confirm .warning { color: var(--muted); font-size: 12px; }
header.top button { background: transparent; color: #fff; border-color: #5b6575; }
.muted { color: var(--muted); }
.pager { margin-top: 10px; }
form.filter { margin: 0 0 12px; }
form.filter input[type=text] { width: 16em; }
.window { margin-left: 8px; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; background: #fff; border: 1px solid var(--line); padding: 12px; margin: 0; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
`;
