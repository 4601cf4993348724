/** The token of an `Authorization: Bearer <token>` header (scheme case-insensitive); undefined otherwise. */
export function bearerToken(authorization: string | undefined): string | undefined {
  return /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(authorization ?? "")?.[1];
}

/** Whether an Authorization header names the Bearer scheme, whatever follows: an API client's, never a browser's. */
export function namesBearer(authorization: string | undefined): boolean {
  return /^Bearer(?:[ \t]|$)/i.test(authorization ?? "");
}
