/**
 * JSON text that is passed on as it is. A payload's messages or choices are most of its bytes, and
 * translation only moves them from one attribute to another: taking their text as it stands, after
 * checking it is valid JSON, costs a fraction of parsing them into objects and writing them again.
 */
export class RawJson {
  constructor(readonly text: string) {}
}

/** JSON text for a value: raw JSON as it is, anything else written by JSON.stringify. */
export function jsonText(value: unknown): string {
  return value instanceof RawJson ? value.text : JSON.stringify(value);
}

/**
 * The members of a JSON object's text, each value as its own text, in order (a repeated key
 * comes twice: the caller keeps the last, as JSON.parse does); undefined when the text is not a
 * valid JSON object. Validates as strictly as JSON.parse and allocates only the result.
 */
export function objectMembers(text: string): Array<[key: string, value: string]> | undefined {
  const reader = new Reader(text);
  try {
    const members = reader.object();
    reader.space();
    return reader.at === text.length ? members : undefined;
  } catch (err) {
    if (err instanceof Invalid) return undefined;
    throw err;
  }
}

class Invalid extends Error {}

/** Deeper than this, the caller's fallback (JSON.parse) decides; this reader recurses. */
const MAX_DEPTH = 256;

class Reader {
  at = 0;

  constructor(private readonly text: string) {}

  object(): Array<[string, string]> {
    this.space();
    if (this.text.charCodeAt(this.at) !== 0x7b) throw new Invalid();
    this.at++;
    const members: Array<[string, string]> = [];
    this.space();
    if (this.text.charCodeAt(this.at) === 0x7d) {
      this.at++;
      return members;
    }
    for (;;) {
      this.space();
      const keyStart = this.at;
      this.string();
      const key = JSON.parse(this.text.slice(keyStart, this.at)) as string;
      this.space();
      this.expect(0x3a);
      this.space();
      const valueStart = this.at;
      this.value(1);
      members.push([key, this.text.slice(valueStart, this.at)]);
      this.space();
      if (this.text.charCodeAt(this.at) === 0x7d) {
        this.at++;
        return members;
      }
      this.expect(0x2c);
    }
  }

  space(): void {
    const text = this.text;
    while (this.at < text.length) {
      const c = text.charCodeAt(this.at);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return;
      this.at++;
    }
  }

  private expect(c: number): void {
    if (this.text.charCodeAt(this.at) !== c) throw new Invalid();
    this.at++;
  }

  private value(depth: number): void {
    if (depth > MAX_DEPTH) throw new Invalid();
    const c = this.text.charCodeAt(this.at);
    if (c === 0x22) this.string();
    else if (c === 0x7b) this.container(0x7d, depth, true);
    else if (c === 0x5b) this.container(0x5d, depth, false);
    else if (c === 0x74) this.literal("true");
    else if (c === 0x66) this.literal("false");
    else if (c === 0x6e) this.literal("null");
    else this.number();
  }

  private container(close: number, depth: number, keyed: boolean): void {
    this.at++;
    this.space();
    if (this.text.charCodeAt(this.at) === close) {
      this.at++;
      return;
    }
    for (;;) {
      this.space();
      if (keyed) {
        this.string();
        this.space();
        this.expect(0x3a);
        this.space();
      }
      this.value(depth + 1);
      this.space();
      const c = this.text.charCodeAt(this.at);
      this.at++;
      if (c === close) return;
      if (c !== 0x2c) throw new Invalid();
    }
  }

  private string(): void {
    const text = this.text;
    this.expect(0x22);
    while (this.at < text.length) {
      const c = text.charCodeAt(this.at++);
      if (c === 0x22) return;
      if (c < 0x20) throw new Invalid();
      if (c !== 0x5c) continue;
      const escaped = text.charCodeAt(this.at++);
      if (escaped === 0x75) {
        if (!/^[0-9a-fA-F]{4}$/.test(text.slice(this.at, this.at + 4))) throw new Invalid();
        this.at += 4;
      } else if (!ESCAPES.has(escaped)) throw new Invalid();
    }
    throw new Invalid();
  }

  private literal(word: string): void {
    if (!this.text.startsWith(word, this.at)) throw new Invalid();
    this.at += word.length;
  }

  private number(): void {
    NUMBER.lastIndex = this.at;
    const match = NUMBER.exec(this.text);
    if (!match) throw new Invalid();
    this.at += match[0].length;
  }
}

/** `"`, `\`, `/`, b, f, n, r, t. */
const ESCAPES = new Set([0x22, 0x5c, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74]);
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
