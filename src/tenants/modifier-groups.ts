import { atomAt, type Characters, union } from "./pattern-atoms.js";
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
    // An assertion takes no characters and a back reference any: the flags change neither.
    spelled += atomUnder(current, written, atom.characters);
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
  return folded.ascii === characters.ascii ? written : classOf(folded);
}

const UPPER = ((1n << 26n) - 1n) << 65n;
const LOWER = ((1n << 26n) - 1n) << 97n;

/** The characters with each ASCII letter's other case (past ASCII, `other` stands for all of them already). */
function caseFolded(characters: Characters): Characters {
  const { ascii } = characters;
  return union(characters, { ascii: ((ascii & LOWER) >> 32n) | ((ascii & UPPER) << 32n), other: false });
}

/** A class of the characters, each ASCII one by its hex escape, and every character past ASCII when `other`. */
function classOf(characters: Characters): string {
  let members = "";
  for (let code = 0; code < 128; code++) if ((characters.ascii >> BigInt(code)) & 1n) members += `\\x${code.toString(16).padStart(2, "0")}`;
  return `[${members}${characters.other ? "\\u0080-\\uffff" : ""}]`;
}
