import { CLOSE_LIST, CLOSE_OBJECT, COLON, COMMA, isJsonSpace, OPEN_LIST, OPEN_OBJECT, QUOTE } from "../encoding/json-characters.js";
import { afterWhiteSpace, stringEnd } from "../encoding/json-text.js";
import { quoted } from "../http/caller-text.js";
import { RelayError } from "../http/errors.js";
import type { Range } from "../otlp/wire.js";
import {
  MAX_JSON_ENTRIES,
  MAX_MESSAGES_PER_SPAN,
  MAX_SPANS_PER_REQUEST,
  tooManyJsonEntries,
  tooManyMessages,
  tooManySpans,
} from "./request-limits.js";

/**
 * Where every resource, scope and span of an OTLP JSON request sits in its text, found without
 * parsing it whole: JSON.parse of a whole body takes some thirty times its size for the smallest
 * values (`{}` is 3 bytes of text and 80 of heap), so each span, and each resource's and scope's
 * own fields, is parsed on its own, and memory follows the largest of them.
 */

interface JsonScope {
  /** The scope's own members (scope, schemaUrl…), by key: every member but its span list. */
  members: Map<string, Range>;
  spans: Range[];
  /**
   * Why one of its spans is over a span's limits, to be left out unread (its name is read when it is
   * rejected: spanNameAt); undefined for one within them. Asked as each span is read, so that
   * reading in steps (turns.ts) cuts this pass over the spans' text too.
   */
  overLimits(span: Range): string | undefined;
}

interface JsonResource {
  members: Map<string, Range>;
  scopes: JsonScope[];
  /** Where its text is: laying it out passed over all of it, a pass for each level of its lists. */
  text: Range;
}

/** Deeper than any valid request: protobuf-es's 100 levels of messages take at most 150 of JSON brackets. */
const MAX_JSON_DEPTH = 200;

const RESOURCE_LISTS = ["resourceSpans", "resource_spans"];
const SCOPE_LISTS = ["scopeSpans", "scope_spans"];
/**
 * instrumentation_library_spans, read as the protobuf scan reads field 1000 (otlp/wire.ts,
 * LEGACY_SCOPE_SPANS): a resource's spans when it has no scope_spans; beside them, as the Collector
 * drops it, left out unread.
 */
const LEGACY_SCOPE_LISTS = ["instrumentationLibrarySpans", "instrumentation_library_spans"];
const SPAN_LISTS = ["spans"];
/**
 * What a legacy list's element names its scope: InstrumentationLibrary (name, version), field 1 as
 * `scope` is, so its protobuf is read as the scope already; the Collector reads it so in JSON too.
 */
const LEGACY_SCOPES = ["instrumentationLibrary", "instrumentation_library"];

/**
 * Resources, scopes and spans a request may hold in all: resources and scopes without spans cost
 * the scan all the same, so they are bounded too (each span may come with its own resource and scope).
 */
export const MAX_LIST_ELEMENTS = 3 * MAX_SPANS_PER_REQUEST;

/**
 * The request's resources, one at a time, each with its scopes and their spans; resources and
 * scopes without spans are left out, as they have nothing to send. The request's structure is
 * checked before this returns, so a body that is not a JSON object is refused with where it went
 * wrong; what is not read (members the relay does not know, resources and scopes without spans)
 * is checked no further than its brackets and strings. Undefined for a body of white space only,
 * a request without spans as an empty one is.
 */
export function scanJsonRequest(text: string): Iterable<JsonResource> | undefined {
  const scanner = new Scanner(text);
  const start = scanner.skipSpace(0);
  if (start === text.length) return undefined;
  if (text.charCodeAt(start) !== OPEN_OBJECT) throw new RelayError("malformed", "request body must be a JSON object");
  const { members: top, end } = scanner.objectMembers(start, "request");
  if (scanner.skipSpace(end) !== text.length) throw malformed(`unexpected text after the request at position ${end}`);
  return resourcesOf(scanner, top);
}

function* resourcesOf(scanner: Scanner, top: Map<string, Range>): Generator<JsonResource> {
  for (const resource of scanner.listOf(top, RESOURCE_LISTS)) {
    const { members } = scanner.objectMembers(resource.start, "resource");
    const scopes: JsonScope[] = [];
    const current = scanner.listOf(members, SCOPE_LISTS);
    const legacy = current.length === 0;
    for (const scope of legacy ? scanner.listOf(members, LEGACY_SCOPE_LISTS) : current) {
      const { members: scopeMembers } = scanner.objectMembers(scope.start, "scope");
      if (legacy) scanner.renamed(scopeMembers, LEGACY_SCOPES, "scope");
      const listed = scanner.listOf(scopeMembers, SPAN_LISTS, true);
      if (listed.length === 0) continue;
      scopes.push({
        members: withoutLists(scanner, scopeMembers, SPAN_LISTS, "scope"),
        spans: listed,
        overLimits: (span) => scanner.overLimits(span),
      });
    }
    if (scopes.length > 0)
      yield { members: withoutLists(scanner, members, [...SCOPE_LISTS, ...LEGACY_SCOPE_LISTS], "resource"), scopes, text: resource };
  }
}

/** The `name` member of the span at `span` when it is a string, read without the rest of the span; empty otherwise. */
export function spanNameAt(text: string, span: Range): string {
  try {
    const name = new Scanner(text).objectMembers(span.start, "span").members.get("name");
    const value: unknown = name && JSON.parse(text.slice(name.start, name.end));
    return typeof value === "string" ? value : "";
  } catch {
    return "";
  }
}

/** A resource's or scope's own members, checked together like a span before anything parses them. */
function withoutLists(scanner: Scanner, members: Map<string, Range>, lists: string[], what: string): Map<string, Range> {
  for (const list of lists) members.delete(list);
  const counts = newCounts();
  for (const value of members.values()) scanner.checkObjects(value, what, counts);
  return members;
}

/** What checkObjects has counted of one span, or of one resource's or scope's members. */
interface Counts {
  objects: number;
  entries: number;
}

function newCounts(): Counts {
  return { objects: 0, entries: 0 };
}

function countEntry(counts: Counts, what: string): void {
  if (++counts.entries > MAX_JSON_ENTRIES) throw tooManyJsonEntries(what);
}

function malformed(message: string): RelayError {
  return new RelayError("malformed", `request body is not valid JSON: ${message}`);
}

/**
 * JSON.parse keeps the last of a key given twice, so the first list of spans (or attributes, events,
 * …) would be dropped without a word, and the request answered 200. OTLP JSON is proto3's, where a
 * field is given once (protobuf-es refuses one given under both its names): refused, never half read.
 */
function givenTwice(key: string, at: number): RelayError {
  return new RelayError(
    "malformed",
    `request body is not valid OTLP JSON: the key ${quoted(key)} at position ${at} is given twice in one object, where each field is given once`,
  );
}

function isDelimiter(c: number): boolean {
  return c === COMMA || c === CLOSE_OBJECT || c === CLOSE_LIST || isJsonSpace(c);
}

class Scanner {
  constructor(private readonly text: string) {}

  /**
   * The members of the object at `at`, by key, each value's range; and where the object ends. A key
   * given twice is refused, and more members than MAX_JSON_ENTRIES (`what` the object is).
   */
  objectMembers(at: number, what: string): { members: Map<string, Range>; end: number } {
    const members = new Map<string, Range>();
    let i = this.skipSpace(at + 1);
    if (this.text.charCodeAt(i) === CLOSE_OBJECT) return { members, end: i + 1 };
    for (;;) {
      if (this.text.charCodeAt(i) !== QUOTE) throw malformed(`expected a key at position ${i}`);
      const keyEnd = this.skipString(i);
      const key = this.key(i, keyEnd);
      if (members.has(key)) throw givenTwice(key, i);
      i = this.skipSpace(keyEnd);
      if (this.text.charCodeAt(i) !== COLON) throw malformed(`expected ":" at position ${i}`);
      const start = this.skipSpace(i + 1);
      const end = this.skipValue(start);
      members.set(key, { start, end });
      if (members.size > MAX_JSON_ENTRIES) throw tooManyJsonEntries(what);
      i = this.skipSpace(end);
      const next = this.text.charCodeAt(i);
      if (next === CLOSE_OBJECT) return { members, end: i + 1 };
      if (next !== COMMA) throw malformed(`expected "," or "}" at position ${i}`);
      i = this.skipSpace(i + 1);
    }
  }

  private elements = 0;
  private spans = 0;

  /**
   * The elements of the first of `names` that is present and not null, each an object; none when
   * absent. Counted as they are found, so a request over the limits is refused before its lists
   * are held whole. A list given under both its names is refused, as protobuf-es refuses any field
   * so given: the other list would go unread.
   */
  listOf(members: Map<string, Range>, names: string[], spans = false): Range[] {
    const [name] = this.given(members, names);
    return name === undefined ? [] : this.arrayOfObjects(members.get(name)!, name, spans);
  }

  /** Those of `names`, names of one field, present and not null: one at most, or the request is refused. */
  private given(members: Map<string, Range>, names: string[]): string[] {
    const given = names.filter((name) => {
      const value = members.get(name);
      return value !== undefined && this.text.slice(value.start, value.end) !== "null";
    });
    if (given.length > 1) {
      throw new RelayError(
        "malformed",
        `request body is not valid OTLP JSON: one object gives both ${given.map((name) => quoted(name)).join(" and ")}, two names of one field`,
      );
    }
    return given;
  }

  /**
   * The first of `names` that is present and not null, under `name` instead: the older name of one
   * field, refused beside another of its names (`name` among them) as listOf refuses a list so given.
   */
  renamed(members: Map<string, Range>, names: string[], name: string): void {
    const [given] = this.given(members, [name, ...names]);
    const value = given === undefined ? undefined : members.get(given);
    for (const old of names) members.delete(old);
    if (value !== undefined) members.set(name, value);
  }

  private count(spans: boolean): void {
    if (spans && ++this.spans > MAX_SPANS_PER_REQUEST) throw tooManySpans();
    if (++this.elements > MAX_LIST_ELEMENTS) {
      throw new RelayError(
        "too_large",
        `request holds more than ${MAX_LIST_ELEMENTS} resources, scopes and spans in all, the limit per request: export smaller batches`,
      );
    }
  }

  private key(start: number, end: number): string {
    try {
      return JSON.parse(this.text.slice(start, end)) as string;
    } catch (err) {
      throw malformed(`the key at position ${start}: ${(err as Error).message}`);
    }
  }

  /**
   * Why a span is over a span's limits (checkObjects), to be left out unread and rejected on its own
   * as the protobuf reader does: its text is bounded by the request's, so the rest of the request still
   * goes. Undefined for a span within them; a key given twice is the request's to fix (400).
   */
  overLimits(span: Range): string | undefined {
    try {
      // A span's own braces are not counted, as the Span message is not in the protobuf count.
      this.checkObjects({ start: span.start + 1, end: span.end }, "span", newCounts(), true);
      return undefined;
    } catch (err) {
      if (err instanceof RelayError && err.code === "too_large") return err.message;
      throw err;
    }
  }

  /**
   * Refuses a span (or a resource's or scope's members, counted together in `counts`) holding more
   * objects (attributes, values, events, links) than the limit, or more entries than
   * MAX_JSON_ENTRIES, or an object giving a key twice, before it is parsed. `insideObject`: the range
   * starts inside an object (a span's, after its opening brace).
   */
  checkObjects({ start, end }: Range, what: string, counts: Counts, insideObject = false): void {
    // The keys of each object the walk is in, innermost last: null for an object before its first
    // key (most of a hostile span's are empty, and need no set), undefined for a list.
    const open: Array<Set<string> | null | undefined> = insideObject ? [null] : [];
    for (let i = start; i < end; i++) {
      const c = this.text.charCodeAt(i);
      if (c === QUOTE) {
        const after = this.skipString(i);
        const keys = open[open.length - 1];
        // In an object, a string followed by a colon is a key.
        if (keys !== undefined && this.text.charCodeAt(this.skipSpace(after)) === COLON) {
          const raw = this.text.slice(i + 1, after - 1);
          const key = raw.includes("\\") ? this.key(i, after) : raw;
          if (keys === null) open[open.length - 1] = new Set([key]);
          else if (keys.has(key)) throw givenTwice(key, i);
          else keys.add(key);
        }
        i = after - 1;
      } else if (c === OPEN_OBJECT) {
        if (++counts.objects > MAX_MESSAGES_PER_SPAN) throw tooManyMessages(what);
        countEntry(counts, what);
        open.push(null);
      } else if (c === OPEN_LIST) {
        countEntry(counts, what);
        open.push(undefined);
      } else if (c === COMMA) countEntry(counts, what);
      else if (c === CLOSE_OBJECT || c === CLOSE_LIST) open.pop();
    }
  }

  private arrayOfObjects({ start, end }: Range, name: string, spans: boolean): Range[] {
    const elements: Range[] = [];
    if (this.text.charCodeAt(start) !== OPEN_LIST) throw new RelayError("malformed", `${name} must be an array of objects`);
    let i = this.skipSpace(start + 1);
    if (this.text.charCodeAt(i) === CLOSE_LIST) return elements;
    for (;;) {
      if (this.text.charCodeAt(i) !== OPEN_OBJECT) throw new RelayError("malformed", `${name} must be an array of objects`);
      this.count(spans);
      const elementEnd = this.skipValue(i);
      elements.push({ start: i, end: elementEnd });
      i = this.skipSpace(elementEnd);
      const next = this.text.charCodeAt(i);
      if (next === CLOSE_LIST && i + 1 === end) return elements;
      if (next !== COMMA) throw malformed(`expected "," or "]" at position ${i}`);
      i = this.skipSpace(i + 1);
    }
  }

  /**
   * The end of the value at `at`: a string or a bracketed value followed to its close, anything
   * else up to the next delimiter. Only the structure is checked here; JSON.parse checks the rest
   * of every value the relay reads.
   */
  private skipValue(at: number): number {
    const text = this.text;
    const first = text.charCodeAt(at);
    if (first === QUOTE) return this.skipString(at);
    if (first !== OPEN_OBJECT && first !== OPEN_LIST) {
      let i = at;
      while (i < text.length && !isDelimiter(text.charCodeAt(i))) i++;
      if (i === at) throw malformed(i >= text.length ? "unexpected end of the body" : `expected a value at position ${at}`);
      return i;
    }
    let depth = 0;
    for (let i = at; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === QUOTE) i = this.skipString(i) - 1;
      else if (c === OPEN_OBJECT || c === OPEN_LIST) {
        if (++depth > MAX_JSON_DEPTH)
          throw malformed(`brackets are nested deeper than ${MAX_JSON_DEPTH} levels (messages nest 100 levels at most)`);
      } else if ((c === CLOSE_OBJECT || c === CLOSE_LIST) && --depth === 0) return i + 1;
    }
    throw malformed("unexpected end of the body");
  }

  /** The end of the string whose opening quote is at `at` (just past its closing quote). */
  private skipString(at: number): number {
    const end = stringEnd(this.text, at);
    if (end === undefined) throw malformed("unexpected end of the body inside a string");
    return end;
  }

  skipSpace(at: number): number {
    return afterWhiteSpace(this.text, at);
  }
}
