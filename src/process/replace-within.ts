/**
 * `text.replace(pattern, template)` for a global pattern, the template read as String.prototype.replace
 * reads one (`$&`, `$1`, `$<name>`, `$$`, `` $` ``, `$'`) and a match of empty text left as it is; or
 * undefined once the text, as far as it is masked, is longer than `maxLength` or more than
 * `maxMatches` matches were replaced. A tenant's pattern matching every character, with a long
 * replacement or one repeating the text before each match, would otherwise build a string hundreds of
 * times a request's size, or past the longest string V8 can hold, in an isolate other tenants'
 * requests share.
 */
export function replaceWithin(text: string, pattern: RegExp, template: string, maxLength: number, maxMatches: number): string | undefined {
  const literal = !template.includes("$");
  let length = text.length;
  let matches = 0;
  try {
    return text.replace(pattern, (...args: unknown[]) => {
      const match = args[0] as string;
      // A lookaround the save-time probe missed (`(?=e)`) matches nothing before every `e`: leaving
      // such a match alone keeps the replacement from landing between characters of every string.
      if (match === "") return "";
      const replacement = literal ? template : substitution(template, args);
      length += replacement.length - match.length;
      // Thrown, not flagged: the search stops here instead of going on through every match left.
      if (length > maxLength || ++matches > maxMatches) throw TOO_LONG;
      return replacement;
    });
  } catch (err) {
    if (err === TOO_LONG) return undefined;
    throw err;
  }
}

const TOO_LONG = Symbol("too long");

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
