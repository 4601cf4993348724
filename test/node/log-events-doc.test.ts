import { readFileSync } from "node:fs";
import { join } from "node:path";
import ts from "typescript";
import { expect, it } from "vitest";

/**
 * The README's Logs tables are what operators query by: every event src/log/events.ts can write is
 * a row there, on the stream it is written to, naming each of its fields; and no row names an event
 * the code no longer writes.
 */
const root = join(import.meta.dirname, "..", "..");
const source = readFileSync(join(root, "src/log/events.ts"), "utf8");
const readme = readFileSync(join(root, "README.md"), "utf8");

/** Each event of the RelayEvent union with its fields, `event` aside. */
function codeEvents(): Map<string, string[]> {
  const file = ts.createSourceFile("events.ts", source, ts.ScriptTarget.Latest, true);
  const alias = file.statements.find((s): s is ts.TypeAliasDeclaration => ts.isTypeAliasDeclaration(s) && s.name.text === "RelayEvent");
  if (!alias || !ts.isUnionTypeNode(alias.type)) throw new Error("RelayEvent is no longer a union in src/log/events.ts");
  const events = new Map<string, string[]>();
  for (const member of alias.type.types) {
    if (!ts.isTypeLiteralNode(member)) throw new Error(`a RelayEvent member is not an object type: ${member.getText()}`);
    const fields = member.members.filter(ts.isPropertySignature).map((p) => p.name.getText());
    const event = member.members
      .filter(ts.isPropertySignature)
      .find((p) => p.name.getText() === "event")
      ?.type?.getText()
      .replace(/"/g, "");
    if (!event) throw new Error(`a RelayEvent member has no event: ${member.getText()}`);
    events.set(
      event,
      fields.filter((f) => f !== "event"),
    );
  }
  return events;
}

/** The rows of the README's two Logs tables, by event: the stream, and the backticked words of the Fields column. */
function documentedEvents(): Map<string, { stream: "log" | "error"; fields: Set<string> }> {
  const start = readme.indexOf("**Logs.**");
  const end = readme.indexOf("**Request ids.**");
  const section = readme.slice(start, end);
  const errorsAt = section.indexOf("Failures of the relay itself go to the error stream");
  const rows = new Map<string, { stream: "log" | "error"; fields: Set<string> }>();
  let at = 0;
  for (const line of section.split("\n")) {
    const row = /^\| `([a-z_]+)` \|.*\| (.*) \|$/.exec(line);
    if (row)
      rows.set(row[1]!, {
        stream: at > errorsAt ? "error" : "log",
        fields: new Set([...row[2]!.matchAll(/`([a-z_]+)`/g)].map((m) => m[1]!)),
      });
    at += line.length + 1;
  }
  return rows;
}

/** The events written to the error stream, as ERROR_EVENTS lists them. */
function errorEvents(): Set<string> {
  const list = /const ERROR_EVENTS[^=]*= new Set\(\[([^\]]*)\]/.exec(source)?.[1] ?? "";
  return new Set([...list.matchAll(/"([a-z_]+)"/g)].map((m) => m[1]!));
}

it("documents every log event the relay writes, on its stream, with each of its fields, and none it does not", () => {
  const code = codeEvents();
  const documented = documentedEvents();
  const errors = errorEvents();

  expect([...documented.keys()].sort()).toEqual([...code.keys()].sort());
  for (const [event, fields] of code) {
    const row = documented.get(event)!;
    expect({ event, stream: row.stream }).toEqual({ event, stream: errors.has(event) ? "error" : "log" });
    expect({ event, missing: fields.filter((f) => !row.fields.has(f)) }).toEqual({ event, missing: [] });
  }
});
