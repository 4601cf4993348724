import { leadingRunAtom } from "../tenants/pattern-atoms.js";

/**
 * `text.replace(pattern, template)` for a global pattern, the template read as String.prototype.replace
 * reads one (`$&`, `$1`, `$<name>`, `$$`, `` $` ``, `$'`) and a match of empty text left as it is; or
 * undefined once the text, as far as it is masked, is longer than `maxLength` or more than
 * `maxMatches` matches were replaced. A tenant's pattern matching every character, with a long
 * replacement or one repeating the text before each match, would otherwise build a string hundreds of
 * times a request's size, or past the longest string V8 can hold, in an isolate other tenants'
 * requests share. Matches are found as the pattern finds them, but in time linear in a run of the
 * character a pattern starts with (see searchFor).
 */
export function replaceWithin(text: string, pattern: RegExp, template: string, maxLength: number, maxMatches: number): string | undefined {
  const literal = !template.includes("$");
  const { search, atResume } = searchFor(pattern);
  let out = "";
  let copied = 0;
  let length = text.length;
  let matches = 0;
  for (let from = 0; from <= text.length; ) {
    const match = matchFrom(text, from, search, atResume);
    if (!match) break;
    const [found] = match;
    // A lookaround the save-time probe missed (`(?=e)`) matches nothing before every `e`: leaving
    // such a match alone keeps the replacement from landing between characters of every string.
    if (found === "") {
      from = match.index + 1;
      continue;
    }
    const replacement = literal ? template : substitution(template, [...match, match.index, text, ...(match.groups ? [match.groups] : [])]);
    length += replacement.length - found.length;
    if (length > maxLength || ++matches > maxMatches) return undefined;
    out += text.slice(copied, match.index) + replacement;
    copied = match.index + found.length;
    from = copied;
  }
  return out + text.slice(copied);
}

/**
 * How a pattern's matches are found. One that starts with a character's unbounded repetition
 * (`[\w.+-]+@acme\.com`, `\d+ ?USD`) is tried from every place of a long run of that character,
 * each try reading to the run's end: seconds of CPU for 60,000 characters, hours for a megabyte.
 * Its leftmost match in a run starts at the run's start (a match from further in is one from the
 * start too, its repetition longer), so it is searched with a lookbehind that skips the rest of the
 * run: `search`. Where a search resumes, after a match or a match of empty text, the run may go on
 * from before it: there the pattern as written is tried first, `atResume`; failing there, it fails
 * in the rest of that run too. What is found is what the pattern as written finds.
 */
interface Search {
  search: RegExp;
  atResume: RegExp | undefined;
}

const searches = new WeakMap<RegExp, Search>();

function searchFor(pattern: RegExp): Search {
  let found = searches.get(pattern);
  if (!found) {
    const run = leadingRunAtom(pattern.source);
    found =
      run === undefined
        ? { search: pattern, atResume: undefined }
        : {
            search: new RegExp(`(?<!${run})(?:${pattern.source})`, pattern.flags),
            atResume: new RegExp(pattern.source, `${pattern.flags.replace("g", "")}y`),
          };
    searches.set(pattern, found);
  }
  return found;
}

/** The first match at or after `from`, as the pattern as written finds it. */
function matchFrom(text: string, from: number, search: RegExp, atResume: RegExp | undefined): RegExpExecArray | null {
  if (atResume && from > 0) {
    atResume.lastIndex = from;
    const there = atResume.exec(text);
    if (there) return there;
  }
  search.lastIndex = from;
  return search.exec(text);
}

/**
 * The template with the match's references filled in, as the language's GetSubstitution does.
 * `args`: what String.prototype.replace passes a function: the match, each capture, the match's
 * position, the whole text, and the named captures when the pattern names any.
 */
function substitution(template: string, args: unknown[]): string {
  const groups = typeof args.at(-1) === "object" ? (args.at(-1) as Record<string, string | undefined>) : undefined;
  const rest = groups ? args.length - 1 : args.length;
  const match = args[0] as string;
  const position = args[rest - 2] as number;
  const text = args[rest - 1] as string;
  const captures = args.slice(1, rest - 2) as Array<string | undefined>;
  let out = "";
  for (let i = 0; i < template.length; i++) {
    const next = template[i + 1];
    if (template[i] !== "$" || next === undefined) {
      out += template[i];
      continue;
    }
    let read = 1;
    if (next === "$") out += "$";
    else if (next === "&") out += match;
    else if (next === "`") out += text.slice(0, position);
    else if (next === "'") out += text.slice(position + match.length);
    else if (isDigit(next)) {
      const ref = captureRef(template, i, captures.length);
      if (ref) out += captures[ref.index - 1] ?? "";
      else out += "$";
      read = ref?.digits ?? 0;
    } else if (next === "<" && groups && template.includes(">", i + 2)) {
      const close = template.indexOf(">", i + 2);
      out += groups[template.slice(i + 2, close)] ?? "";
      read = close - i;
    } else {
      out += "$";
      read = 0;
    }
    i += read;
  }
  return out;
}

/** The capture `$n` or `$nn` at `at` refers to: two digits when they name one, else one and a literal digit after it. */
function captureRef(template: string, at: number, count: number): { index: number; digits: number } | undefined {
  const two = Number(template.slice(at + 1, at + 3));
  if (isDigit(template[at + 2]) && two >= 1 && two <= count) return { index: two, digits: 2 };
  const one = Number(template[at + 1]);
  return one >= 1 && one <= count ? { index: one, digits: 1 } : undefined;
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= "0" && c <= "9";
}
