/**
 * Whether a table of a Durable Object's SQLite storage has a column: one kept by older code may not
 * yet, and SQLite adds a column only once (`ALTER TABLE … ADD COLUMN` fails for one it has).
 */
export function hasColumn(sql: SqlStorage, table: string, column: string): boolean {
  return sql
    .exec<{ name: string }>(`PRAGMA table_info(${table})`)
    .toArray()
    .some((kept) => kept.name === column);
}
