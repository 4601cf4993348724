import { base64Encode, base64UrlEncode, hex, textStart } from "../encoding/bytes.js";

/**
 * What an upstream wrote (an error body, a partial success's message), made fit to pass on to the
 * client, the logs, a dead letter and the statistics: the upstream is Braintrust or a tenant's own
 * `api_url`, and may echo the key it was sent, whole, cut, escaped or encoded.
 */

/** The most of an upstream's text shown. */
const MAX_ERROR_TEXT = 300;

/**
 * The key as an upstream may echo it, each character as it is, JSON-escaped (`\"`, `\/`, `\u00XX`)
 * or percent-encoded (`%XX`), hex in either case: encoders differ in which characters they escape
 * (Go's JSON writes `<` as `\u003c`, Python's quote keeps `/`), so no list of whole forms covers them.
 */
function echoedKey(apiKey: string): RegExp {
  const pattern = [...apiKey]
    .map((c) => {
      const code = c.charCodeAt(0).toString(16).padStart(2, "0");
      const eitherCase = code.replace(/[a-f]/g, (h) => `[${h}${h.toUpperCase()}]`);
      const short = '"\\/'.includes(c) ? `|\\\\\\x${code}` : "";
      return `(?:\\x${code}|%${eitherCase}|\\\\u00${eitherCase}${short})`;
    })
    .join("");
  return new RegExp(pattern, "g");
}

/**
 * The text with every run of MIN_ECHOED_RUN or more of the key's characters redacted: an echo the
 * upstream cut short, broke with a line, or escaped one character of (`&amp;`) is no whole key, yet
 * holds most of one. So is a run of the key's hex or base64 (encodedForms). A run is a stretch
 * each of whose twelve-character windows is one of the key's, found in one pass over the text.
 * Twelve characters of a random key are no word of a message.
 */
function withoutKeyRuns(text: string, apiKey: string): string {
  const windows = new Set<string>();
  for (const form of [apiKey, ...encodedForms(apiKey)])
    for (let i = 0; i + MIN_ECHOED_RUN <= form.length; i++) windows.add(form.slice(i, i + MIN_ECHOED_RUN));
  if (windows.size === 0) return text;
  let shown = "";
  let copied = 0;
  let runEnd = -1;
  for (let at = 0; at + MIN_ECHOED_RUN <= text.length; at++) {
    if (!windows.has(text.slice(at, at + MIN_ECHOED_RUN))) continue;
    if (at > runEnd) shown += `${text.slice(copied, at)}[redacted]`;
    runEnd = at + MIN_ECHOED_RUN;
    copied = runEnd;
  }
  return shown + text.slice(copied);
}

const MIN_ECHOED_RUN = 12;

/**
 * The key as an upstream dumping the headers or bytes it got writes it: in hex, either case, its
 * bytes run together, a space apart (hexdump -C, Wireshark) or two a group (xxd; hexdump and od -x
 * as little-endian words, each group's two bytes swapped), and in any base64 of a text holding it (`Authorization`, base64'd, as some debugging proxies show it).
 * Which base64 characters encode the key's bytes alone depends on where in the text the key starts,
 * one of three offsets, so each is here, in both alphabets, the line breaks MIME adds being spaces by then.
 */
function encodedForms(apiKey: string): string[] {
  const bytes = new TextEncoder().encode(apiKey);
  const base64 = [0, 1, 2].flatMap((skip) => {
    const own = bytes.subarray(skip, skip + Math.floor((bytes.length - skip) / 3) * 3);
    return [base64Encode(own), base64UrlEncode(own)];
  });
  const hexOf = (b: number | undefined) => (b === undefined ? "" : hex(Uint8Array.of(b)));
  const spaced = Array.from(bytes, hexOf).join(" ");
  // The key's first byte may open a group or close one (`phase` 1: the group's first byte is not the key's).
  const grouped = [false, true].flatMap((swapped) =>
    [0, 1].map((phase) => {
      const groups: string[] = [];
      for (let at = -phase; at < bytes.length; at += 2) {
        const [first, second] = [hexOf(bytes[at]), hexOf(bytes[at + 1])];
        groups.push(swapped ? second + first : first + second);
      }
      return groups.join(" ");
    }),
  );
  return [hex(bytes), spaced, ...grouped].flatMap((form) => [form, form.toUpperCase()]).concat(base64);
}

/** The most bytes an echo of the key takes: `\u00XX`, six for each character, twelve in UTF-16 (whose NULs upstreamText drops). */
export const MAX_ECHO_BYTES_PER_CHARACTER = 12;

/**
 * Text an upstream wrote (an error body, a partial success's message), as the relay passes it on to
 * clients, logs and dead letters: the key scrubbed, in case the upstream (a tenant's own api_url)
 * echoes it; on one line; at most MAX_ERROR_TEXT characters.
 */
export function upstreamText(text: string, apiKey: string): string {
  // No message holds a NUL: UTF-16 read as UTF-8 (a .NET or Windows server's answer) has one beside
  // each character, which would part an echoed key's characters from each other and hide it.
  const scrubbed = text.replaceAll("\0", "").replace(echoedKey(apiKey), "[redacted]");
  // C1 controls too (NEL breaks a line, CSI starts a terminal's escape), and the Unicode line and paragraph separators.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this removes, so a log line stays one line.
  const oneLine = scrubbed.replace(/[\x00-\x1f\x7f-\x9f\u2028\u2029]+/g, " ").trim();
  // Runs are looked for only where they could be shown: a run begun in it may go on for a key's length past it.
  const shown = withoutKeyRuns(oneLine.slice(0, MAX_ERROR_TEXT + apiKey.length), apiKey);
  return oneLine.length > MAX_ERROR_TEXT ? `${textStart(shown, MAX_ERROR_TEXT)}…` : shown;
}
