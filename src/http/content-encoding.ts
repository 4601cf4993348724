/**
 * The content codings a Content-Encoding header lists (RFC 9110, section 8.4), lowercased, in the
 * order they were applied; `identity`, which is no coding, and empty entries are left out. None
 * means the body is as sent; each caller says which codings it takes.
 */
export function contentCodings(contentEncoding: string | undefined): string[] {
  return (contentEncoding ?? "")
    .split(",")
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== "" && c !== "identity");
}
