import { describe, expect, it } from "vitest";
import { readSession, renewedSession, SESSION_MAX_SECONDS, SESSION_SECONDS, startSession } from "../../src/console/session.js";

const TOKEN = "admin-token";
const NOW = Date.parse("2026-12-01T16:00:00Z");
const MINUTE = 60_000;

describe("console sessions", () => {
  it("last SESSION_SECONDS (30 minutes) from login, and not a moment longer, unless renewed", async () => {
    const cookie = await startSession(TOKEN, NOW);

    expect(SESSION_SECONDS).toBe(30 * 60);
    expect(cookie.maxAgeSeconds).toBe(SESSION_SECONDS);
    const session = await readSession(TOKEN, cookie.value, NOW);
    expect(session).toEqual({
      expiresAt: NOW + SESSION_SECONDS * 1000,
      startedAt: NOW,
      nonce: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
      csrfToken: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
    });
    expect(await readSession(TOKEN, cookie.value, NOW + SESSION_SECONDS * 1000 - 1)).toEqual(session);
    expect(await readSession(TOKEN, cookie.value, NOW + SESSION_SECONDS * 1000)).toBeUndefined();
  });

  it("in use, last on for SESSION_SECONDS from each use, with the same CSRF token, so pages already open still send their forms", async () => {
    const started = await readSession(TOKEN, (await startSession(TOKEN, NOW)).value, NOW);
    const used = NOW + 20 * MINUTE;

    const renewed = await renewedSession(TOKEN, started!, used);

    expect(renewed?.maxAgeSeconds).toBe(SESSION_SECONDS);
    const session = await readSession(TOKEN, renewed!.value, NOW + 45 * MINUTE);
    expect(session).toEqual({ ...started, expiresAt: used + SESSION_SECONDS * 1000 });
    expect(await readSession(TOKEN, renewed!.value, used + SESSION_SECONDS * 1000)).toBeUndefined();
  });

  it("are not set again on every click: a renewal that would move the end by less than a minute is none", async () => {
    const session = await readSession(TOKEN, (await startSession(TOKEN, NOW)).value, NOW);

    expect(await renewedSession(TOKEN, session!, NOW + MINUTE - 1)).toBeUndefined();
    expect(await renewedSession(TOKEN, session!, NOW + MINUTE)).toBeDefined();
  });

  it("end SESSION_MAX_SECONDS (12 hours) after login however often they are renewed", async () => {
    expect(SESSION_MAX_SECONDS).toBe(12 * 60 * 60);
    let session = await readSession(TOKEN, (await startSession(TOKEN, NOW)).value, NOW);
    const end = NOW + SESSION_MAX_SECONDS * 1000;
    // Used every twenty minutes all day.
    for (let at = NOW + 20 * MINUTE; at < end; at += 20 * MINUTE) {
      const renewed = await renewedSession(TOKEN, session!, at);
      if (renewed) session = await readSession(TOKEN, renewed.value, at);
      expect(session, new Date(at).toISOString()).toBeDefined();
    }

    expect(session?.expiresAt).toBe(end);
    expect(await renewedSession(TOKEN, session!, end - MINUTE)).toBeUndefined();
    const last = await renewedSession(TOKEN, { ...session!, expiresAt: end - 10 * MINUTE }, end - 10 * MINUTE);
    expect(last?.maxAgeSeconds).toBe(10 * 60);
  });

  it("end when the admin token is rotated: the key that signs them is derived from it", async () => {
    const cookie = await startSession(TOKEN, NOW);

    expect(await readSession("rotated-admin-token", cookie.value, NOW)).toBeUndefined();
  });

  it("cannot be extended or forged: any change to the cookie voids it", async () => {
    const cookie = (await startSession(TOKEN, NOW)).value;
    const [expires, started, nonce, signature] = cookie.split(".") as [string, string, string, string];
    const flipped = `${signature.slice(0, -1)}${signature.endsWith("A") ? "B" : "A"}`;

    for (const forged of [
      `${Number(expires) + 3_600_000}.${started}.${nonce}.${signature}`,
      `${expires}.${Number(started) + 3_600_000}.${nonce}.${signature}`,
      `${expires}.${started}.${nonce}x.${signature}`,
      `${expires}.${started}.${nonce}.${flipped}`,
      `${expires}.${started}.${nonce}.${signature}.extra`,
      // Another spelling of the same times: the cookie the relay wrote is the only one.
      `0${expires}.${started}.${nonce}.${signature}`,
      `${expires}.00${started}.${nonce}.${signature}`,
      `${expires}.${nonce}.${signature}`,
      `${expires}.${started}.${nonce}`,
      ` ${expires}.${started}.${nonce}.${signature}`,
      `${expires}.${started}.${nonce}.not base64!`,
      "",
    ]) {
      expect(await readSession(TOKEN, forged, NOW), forged).toBeUndefined();
    }
    expect(await readSession(TOKEN, undefined, NOW)).toBeUndefined();
  });

  it("are refused when the signature is written another way that decodes to the same bytes", async () => {
    const cookie = (await startSession(TOKEN, NOW)).value;
    const [expires, started, nonce, signature] = cookie.split(".") as [string, string, string, string];
    // 32 bytes take 43 characters; the last one's two low bits are unused, and atob ignores them.
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const last = alphabet.indexOf(signature.at(-1)!);
    for (const unused of [1, 2, 3]) {
      const rewritten = `${expires}.${started}.${nonce}.${signature.slice(0, -1)}${alphabet[last ^ unused]}`;
      expect(await readSession(TOKEN, rewritten, NOW), rewritten).toBeUndefined();
    }
    expect(await readSession(TOKEN, cookie, NOW)).toMatchObject({ expiresAt: NOW + SESSION_SECONDS * 1000 });
  });

  it("each carry a CSRF token of their own, the same on every page of the session", async () => {
    const first = (await startSession(TOKEN, NOW)).value;
    const second = (await startSession(TOKEN, NOW)).value;

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
