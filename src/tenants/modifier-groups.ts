import { atomAt, type Characters, type CodeRange, covers, NONE, takesPastAscii, union } from "./pattern-atoms.js";
import { afterGroupOpening, quantifierAt } from "./pattern-syntax.js";

/**
 * A regular expression with its modifier groups (`(?i:…)`, `(?s:…)`, `(?-i:…)`) written as the plain
 * groups the checks on value patterns read (nested-repetition.ts, adjacent-runs.ts): each atom inside
 * as the characters it takes under the group's flags (`(?i:a|A)` as `(?:[aA]|[aA])`, `(?s:.)` as
 * `(?:[\s\S])`). A value pattern runs with the `g` flag alone, so a modifier group is how a tenant
 * masks text in either case; read as written, its `i` and `:` would pass for characters, and `a|A`
 * for two that differ. Only the checks read this: the pattern runs as the tenant wrote it.
 */
export function modifiersSpelledOut(source: string): string {
  const flags: Flags[] = [{ fold: false, dotAll: false }];
  let spelled = "";
  for (let i = 0; i < source.length; ) {
    const current = flags[flags.length - 1]!;
    const c = source[i]!;
    if (c === "(") {
      MODIFIERS.lastIndex = i + 1;
      const modifiers = MODIFIERS.exec(source);
      const opened = modifiers ? i + 1 + modifiers[0].length : afterGroupOpening(source, i + 1);
      flags.push(modifiers ? withModifiers(current, modifiers[1]!, modifiers[2] ?? "") : current);
      spelled += modifiers ? "(?:" : source.slice(i, opened);
      i = opened;
      continue;
    }
    if (c === ")" || c === "|") {
      if (c === ")" && flags.length > 1) flags.pop();
      spelled += c;
      i++;
      continue;
    }
    const atom = atomAt(source, i);
    const written = source.slice(i, atom.end);
    // An assertion takes no characters: the flags change nothing. A back reference matched in either
    // case may take what its group's characters fold to, which no class can stand for: `\k<>`, which
    // the checks read as a reference to any characters.
    spelled += atom.anyLength && current.fold ? "\\k<>" : atomUnder(current, written, atom.characters);
    // A quantifier is copied as it is, never read as characters.
    const end = quantifierAt(source, atom.end)?.end ?? atom.end;
    spelled += source.slice(atom.end, end);
    i = end;
  }
  return spelled;
}

interface Flags {
  fold: boolean;
  dotAll: boolean;
}

/** `(?ims-ims:`, after its `(`: the flags it adds and those it removes (JavaScript's modifiers are i, m and s). */
const MODIFIERS = /\?([ims]*)(?:-([ims]*))?:/y;

function withModifiers(around: Flags, added: string, removed: string): Flags {
  const set = (flag: string, was: boolean) => (added.includes(flag) || was) && !removed.includes(flag);
  return { fold: set("i", around.fold), dotAll: set("s", around.dotAll) };
}

/** An atom as the checks should read it under the flags: its text as written when they change nothing. */
function atomUnder(flags: Flags, written: string, characters: Characters): string {
  if (flags.dotAll && written === ".") return "[\\s\\S]";
  if (!flags.fold) return written;
  const folded = caseFolded(characters);
  return covers(characters, folded) ? written : classOf(folded);
}

const UPPER = ((1n << 26n) - 1n) << 65n;
const LOWER = ((1n << 26n) - 1n) << 97n;

/** The characters with those each matches under `i`: an ASCII letter's other case, `é`'s `É`, `µ`'s `Μ` and `μ`. */
function caseFolded(characters: Characters): Characters {
  const { ascii } = characters;
  const folded = union(characters, { ascii: ((ascii & LOWER) >> 32n) | ((ascii & UPPER) << 32n), pastAscii: [] });
  if (characters.pastAscii.length === 0) return folded;
  const cases = casesPastAscii();
  // A class that takes every letter with cases (`\S`, `[^,]`) gains none.
  if (covers(characters, cases.all)) return folded;
  const matched: CodeRange[] = [];
  for (const [code, alike] of cases.alike) if (takesPastAscii(characters, code)) for (const other of alike) matched.push([other, other]);
  return union(folded, { ascii: 0n, pastAscii: matched });
}

interface Cases {
  /** Each code unit past ASCII that matches another under `i`, with those it matches. */
  alike: ReadonlyMap<number, readonly number[]>;
  /** All of them. */
  all: Characters;
}

let cases: Cases | undefined;

/**
 * The code units past ASCII that match others under `i`: those of the same canonical form, as
 * ECMAScript defines it without the `u` flag (the character's upper case when that is one code
 * unit, and not an ASCII one for a character past ASCII: `ſ` matches no `s`). Built once, when a
 * pattern first folds a character past ASCII.
 */
function casesPastAscii(): Cases {
  if (cases) return cases;
  const byCanonical = new Map<number, number[]>();
  for (let code = 0x80; code <= 0xffff; code++) {
    const upper = String.fromCharCode(code).toUpperCase();
    const canonical = upper.charCodeAt(0);
    if (upper.length !== 1 || canonical < 0x80 || canonical === code) continue;
    const alike = byCanonical.get(canonical);
    if (alike) alike.push(code);
    else byCanonical.set(canonical, [canonical, code]);
  }
  const alike = new Map<number, readonly number[]>();
  for (const group of byCanonical.values()) for (const code of group) alike.set(code, group);
  // One range per code unit, joined where they touch.
  const all = union(NONE, { ascii: 0n, pastAscii: [...alike.keys()].map((code): CodeRange => [code, code]) });
  cases = { alike, all };
  return cases;
}

/** A class of the characters, each ASCII one by its hex escape, the others by ranges of `\u` escapes. */
function classOf(characters: Characters): string {
  let members = "";
  for (let code = 0; code < 128; code++) if ((characters.ascii >> BigInt(code)) & 1n) members += `\\x${code.toString(16).padStart(2, "0")}`;
  for (const [first, last] of characters.pastAscii)
    members += first === last ? unicodeEscape(first) : `${unicodeEscape(first)}-${unicodeEscape(last)}`;
  return `[${members}]`;
}

function unicodeEscape(code: number): string {
  return `\\u${code.toString(16).padStart(4, "0")}`;
}
