/** Rows as aligned columns under a header, for people; `--json` output skips this. */
export function table(headers: string[], rows: Array<Array<string | number>>): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => (row[i] ?? "").length)));
  return cells.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ")).join("\n");
}

/**
 * Text for a table's last column, whole and on one line: an upstream's own words, which tell one
 * refusal from another, come at the end of a reason.
 */
export function oneLine(text: string): string {
  return text.replace(/\s+/g, " ");
}
