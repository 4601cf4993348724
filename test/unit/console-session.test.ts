import { describe, expect, it } from "vitest";
import { readSession, SESSION_SECONDS, startSession } from "../../src/console/session.js";

const TOKEN = "admin-token";
const NOW = Date.parse("2026-12-01T16:00:00Z");

describe("console sessions", () => {
  it("last SESSION_SECONDS (30 minutes) from login, and not a moment longer", async () => {
    const cookie = await startSession(TOKEN, NOW);

    expect(SESSION_SECONDS).toBe(30 * 60);
    const session = await readSession(TOKEN, cookie, NOW);
    expect(session).toEqual({ expiresAt: NOW + SESSION_SECONDS * 1000, csrfToken: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) });
    expect(await readSession(TOKEN, cookie, NOW + SESSION_SECONDS * 1000 - 1)).toEqual(session);
    expect(await readSession(TOKEN, cookie, NOW + SESSION_SECONDS * 1000)).toBeUndefined();
  });

  it("end when the admin token is rotated: the key that signs them is derived from it", async () => {
    const cookie = await startSession(TOKEN, NOW);

    expect(await readSession("rotated-admin-token", cookie, NOW)).toBeUndefined();
  });

  it("cannot be extended or forged: any change to the cookie voids it", async () => {
    const cookie = await startSession(TOKEN, NOW);
    const [expires, nonce, signature] = cookie.split(".") as [string, string, string];
    const flipped = `${signature.slice(0, -1)}${signature.endsWith("A") ? "B" : "A"}`;

    for (const forged of [
      `${Number(expires) + 3_600_000}.${nonce}.${signature}`,
      `${expires}.${nonce}x.${signature}`,
      `${expires}.${nonce}.${flipped}`,
      `${expires}.${nonce}.${signature}.extra`,
      `${expires}.${nonce}`,
      ` ${expires}.${nonce}.${signature}`,
      `${expires}.${nonce}.not base64!`,
      "",
    ]) {
      expect(await readSession(TOKEN, forged, NOW), forged).toBeUndefined();
    }
    expect(await readSession(TOKEN, undefined, NOW)).toBeUndefined();
  });

  it("are refused when the signature is written another way that decodes to the same bytes", async () => {
    const cookie = await startSession(TOKEN, NOW);
    const [expires, nonce, signature] = cookie.split(".") as [string, string, string];
    // 32 bytes take 43 characters; the last one's two low bits are unused, and atob ignores them.
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const last = alphabet.indexOf(signature.at(-1)!);
    for (const unused of [1, 2, 3]) {
      const rewritten = `${expires}.${nonce}.${signature.slice(0, -1)}${alphabet[last ^ unused]}`;
      expect(await readSession(TOKEN, rewritten, NOW), rewritten).toBeUndefined();
    }
    expect(await readSession(TOKEN, cookie, NOW)).toMatchObject({ expiresAt: NOW + SESSION_SECONDS * 1000 });
  });

  it("each carry a CSRF token of their own, the same on every page of the session", async () => {
    const first = await startSession(TOKEN, NOW);
    const second = await startSession(TOKEN, NOW);

    const [a, aAgain, b] = await Promise.all([
      readSession(TOKEN, first, NOW),
      readSession(TOKEN, first, NOW + 60_000),
      readSession(TOKEN, second, NOW),
    ]);
    expect(a?.csrfToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(aAgain?.csrfToken).toBe(a?.csrfToken);
    expect(b?.csrfToken).not.toBe(a?.csrfToken);
  });
});
