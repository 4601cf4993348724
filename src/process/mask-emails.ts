/**
 * Email addresses masked as the plain pattern `[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}` finds
 * them, read from each `@`: the run of local-part characters before it, and the domain after it up
 * to its last dot that two letters follow. Written as that pattern, a search tries every character of
 * a long run without an `@` and reads the run to its end each time (quadratic); written as a search
 * for every run, it makes a part for each (a megabyte of words, millions of them). This reads each
 * character at most twice and makes a part only for an address. Undefined once more than `maxMatches`
 * are masked or the text would pass `maxLength`: the caller masks the value whole.
 */
export function maskEmails(text: string, replacement: string, maxLength: number, maxMatches: number): string | undefined {
  let out = "";
  let copiedTo = 0;
  let matches = 0;
  for (let at = text.indexOf("@"); at !== -1; at = text.indexOf("@", at + 1)) {
    let start = at;
    while (start > copiedTo && isLocalPart(text.charCodeAt(start - 1))) start--;
    const end = start < at ? domainEnd(text, at + 1) : undefined;
    if (end === undefined) continue;
    if (++matches > maxMatches) return undefined;
    out += text.slice(copiedTo, start) + replacement;
    copiedTo = end;
    if (out.length + text.length - copiedTo > maxLength) return undefined;
    at = end - 1;
  }
  return matches === 0 ? text : out + text.slice(copiedTo);
}

/** Where the domain starting at `from` ends: after the letters following its last dot that has a character before it and two letters after. */
function domainEnd(text: string, from: number): number | undefined {
  let run = from;
  while (run < text.length && isDomain(text.charCodeAt(run))) run++;
  for (let dot = run - 3; dot > from; dot--) {
    if (text.charCodeAt(dot) !== DOT || !isLetter(text.charCodeAt(dot + 1)) || !isLetter(text.charCodeAt(dot + 2))) continue;
    let end = dot + 3;
    while (end < run && isLetter(text.charCodeAt(end))) end++;
    return end;
  }
  return undefined;
}

const DOT = 0x2e;

function isLetter(c: number): boolean {
  return (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

function isDomain(c: number): boolean {
  return isLetter(c) || (c >= 0x30 && c <= 0x39) || c === DOT || c === 0x2d;
}

/** `[A-Za-z0-9._%+-]` */
function isLocalPart(c: number): boolean {
  return isDomain(c) || c === 0x5f || c === 0x25 || c === 0x2b;
}
