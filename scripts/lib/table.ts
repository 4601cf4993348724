/** Rows as aligned columns under a header, for people; `--json` output skips this. */
export function table(headers: string[], rows: Array<Array<string | number>>): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? "").length)));
  return cells.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ")).join("\n");
}

/**
 * Text for a table's last column, whole and on one line: an upstream's own words, which tell one
 * refusal from another, come at the end of a reason. Control characters (a terminal's colour codes)
 * are shown as U+FFFD: the text is a client's or an upstream's, not the operator's terminal's.
 */
export function oneLine(text: string): string {
  return shownText(text.replace(/\s+/g, " "));
}

/** Text from a client or an upstream (a model name from spans), its control characters shown as U+FFFD, never sent to the terminal. */
export function shownText(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters are what it finds
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, "\ufffd");
}
