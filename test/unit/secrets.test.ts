import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { base64UrlDecode, base64UrlEncode, hex } from "../../src/encoding/bytes.js";
import { containsSecret, matchesDigest, secretsEqual, sha256Hex } from "../../src/secrets/compare.js";
import { openSecret, openSecretUnder, sealSecret } from "../../src/secrets/seal.js";
import { refusal } from "../support/refusal.js";

const KEY = { ENCRYPTION_KEY: "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" };
const OTHER_KEY = { ENCRYPTION_KEY: btoa("another key of exactly 32 bytes!") };

describe("comparing secrets", () => {
  it("hashes with SHA-256, as lowercase hex", async () => {
    expect(await sha256Hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  });

  it("accepts only the same secret, whatever the lengths", async () => {
    expect(await secretsEqual("admin-token", "admin-token")).toBe(true);
    expect(await secretsEqual("admin-token", "admin-tokeN")).toBe(false);
    expect(await secretsEqual("admin-token", "admin-token-longer")).toBe(false);
    expect(await secretsEqual("", "admin-token")).toBe(false);
  });

  it("matches a secret against its stored digest, in either case of hex, and nothing else", async () => {
    const digest = await sha256Hex("tbr_secret");

    expect(await matchesDigest("tbr_secret", digest)).toBe(true);
    expect(await matchesDigest("tbr_secret", digest.toUpperCase())).toBe(true);
    expect(await matchesDigest("tbr_secreT", digest)).toBe(false);
    expect(await matchesDigest("tbr_secret", `${digest.slice(0, -2)}00`)).toBe(false);
    expect(await matchesDigest("tbr_secret", "zz".repeat(32))).toBe(false);
    expect(await matchesDigest("tbr_secret", "")).toBe(false);
    expect(await matchesDigest("tbr_secret", `${digest}00`)).toBe(false);
    expect(await matchesDigest("tbr_secret", digest.slice(0, -1))).toBe(false);
  });
});

describe("finding a secret in a text", () => {
  it("finds a secret wherever a text holds it, whole, and nothing else", () => {
    const secret = "Zq3kP9xW2mLr7VtN4bYcHs8JdF6gQe1U";

    for (const text of [
      secret,
      `a${secret}`,
      `${secret}b`,
      `/t/${secret}/v1/traces`,
      `${"x".repeat(5000)}${secret}${"y".repeat(5000)}`,
      `€${secret}😀`,
    ])
      expect(containsSecret(text, secret)).toBe(true);
    for (const text of [
      "",
      secret.slice(1),
      secret.slice(0, -1),
      `${secret.slice(0, 16)} ${secret.slice(16)}`,
      secret.toLowerCase(),
      "x".repeat(10_000),
    ])
      expect(containsSecret(text, secret)).toBe(false);
    expect(containsSecret(secret, "")).toBe(false);
  });

  it("answers as includes does for any secret and text, of units that repeat, halves of surrogate pairs among them", () => {
    // Few units, so texts hold the secret, or all of it but one unit, often; a secret of one unit too.
    const units = fc.constantFrom("a", "b", "é", "\ud83d", "\ude00", "😀");
    const textOf = (maxLength: number) => fc.array(units, { maxLength }).map((parts) => parts.join(""));
    fc.assert(
      fc.property(
        textOf(6).filter((secret) => secret !== ""),
        textOf(20),
        textOf(20),
        (secret, before, after) => {
          for (const text of [before, `${before}${secret}${after}`, `${before}${secret.slice(1)}${after}`])
            expect(containsSecret(text, secret)).toBe(text.includes(secret));
        },
      ),
      { seed: 7, numRuns: 2000 },
    );
  });
});

describe("encodings", () => {
  it("writes base64url without padding and reads it back", () => {
    expect(base64UrlEncode(new Uint8Array([0xfb, 0xff]))).toBe("-_8");
    expect(base64UrlEncode(new Uint8Array([0xfb, 0xef, 0xbe]))).toBe("----");
    expect(base64UrlEncode(new Uint8Array([0xff, 0xff, 0xff]))).toBe("____");
    expect(base64UrlEncode(new Uint8Array([0xff]))).toBe("_w");
    expect(base64UrlEncode(new Uint8Array())).toBe("");
    for (let length = 0; length < 7; length++) {
      const bytes = crypto.getRandomValues(new Uint8Array(length));
      expect(base64UrlDecode(base64UrlEncode(bytes))).toEqual(bytes);
    }
    expect(base64UrlDecode("-_8")).toEqual(new Uint8Array([0xfb, 0xff]));
    expect(base64UrlDecode("----")).toEqual(new Uint8Array([0xfb, 0xef, 0xbe]));
  });

  it("writes lowercase hex, two digits a byte", () => {
    expect(hex(new Uint8Array([0, 15, 16, 255]))).toBe("000f10ff");
  });
});

describe("sealing secrets", () => {
  it("seals into a v1 envelope with a fresh IV each time, and opens it again", async () => {
    const first = await sealSecret("sk-secret", KEY, "tenant-api-key:acme");
    const second = await sealSecret("sk-secret", KEY, "tenant-api-key:acme");

    expect(first).toMatch(/^v1\.[\w-]{16}\.[\w-]+$/);
    expect(first).not.toBe(second);
    expect(first).not.toContain("sk-secret");
    expect(await openSecret(first, KEY, "tenant-api-key:acme")).toBe("sk-secret");
    expect(await openSecret(second, { ENCRYPTION_KEY: ` ${KEY.ENCRYPTION_KEY}\n` }, "tenant-api-key:acme")).toBe("sk-secret");
  });

  it("does not open under another context, another key, or tampered with", async () => {
    const sealed = await sealSecret("sk-secret", KEY, "tenant-api-key:acme");
    const [version, iv, ciphertext] = sealed.split(".");
    const flipped = `${version}.${iv}.${ciphertext!.startsWith("A") ? "B" : "A"}${ciphertext!.slice(1)}`;
    const notOpening = { code: "misconfigured", message: "a stored secret does not open with the current ENCRYPTION_KEY" };

    expect(await refusal(openSecret(sealed, KEY, "tenant-api-key:other"))).toEqual(notOpening);
    expect(await refusal(openSecret(sealed, OTHER_KEY, "tenant-api-key:acme"))).toEqual(notOpening);
    expect(await refusal(openSecret(flipped, KEY, "tenant-api-key:acme"))).toEqual(notOpening);
  });

  it("refuses envelopes it does not know", async () => {
    const sealed = await sealSecret("sk-secret", KEY, "c");
    const [, iv, ciphertext] = sealed.split(".");
    const unknown = { code: "misconfigured", message: "a stored secret has an unknown format" };

    for (const envelope of [`v2.${iv}.${ciphertext}`, `v1.${iv}`, `v1..${ciphertext}`, `v1.${iv}.`, "plaintext"]) {
      expect(await refusal(openSecret(envelope, KEY, "c"))).toEqual(unknown);
    }
  });

  it("opens what the previous key sealed while a rotation lasts, and says which key opened it", async () => {
    const rotating = { ENCRYPTION_KEY: OTHER_KEY.ENCRYPTION_KEY, ENCRYPTION_KEY_PREVIOUS: KEY.ENCRYPTION_KEY };
    const old = await sealSecret("sk-old", KEY, "c");
    const fresh = await sealSecret("sk-new", rotating, "c");

    expect(await openSecretUnder(old, rotating, "c")).toEqual({ plaintext: "sk-old", under: "previous" });
    expect(await openSecretUnder(fresh, rotating, "c")).toEqual({ plaintext: "sk-new", under: "current" });
    expect(await openSecret(fresh, OTHER_KEY, "c")).toBe("sk-new");
    expect(await refusal(openSecret(old, rotating, "other context"))).toEqual({
      code: "misconfigured",
      message: "a stored secret does not open with ENCRYPTION_KEY or ENCRYPTION_KEY_PREVIOUS",
    });
  });

  it("reads the previous key only for what the current one does not open, and names it when it is malformed", async () => {
    const badPrevious = { ENCRYPTION_KEY: KEY.ENCRYPTION_KEY, ENCRYPTION_KEY_PREVIOUS: "not a key" };
    const sealed = await sealSecret("sk-secret", KEY, "c");

    expect(await openSecret(sealed, badPrevious, "c")).toBe("sk-secret");
    expect(await refusal(openSecret(await sealSecret("s", OTHER_KEY, "c"), badPrevious, "c"))).toEqual({
      code: "misconfigured",
      message: "ENCRYPTION_KEY_PREVIOUS must be 32 random bytes, base64-encoded",
    });
  });

  it("needs ENCRYPTION_KEY, 32 bytes of base64, to seal or open", async () => {
    const missing = { code: "misconfigured", message: "ENCRYPTION_KEY is not set: the relay cannot store or read API keys" };
    const wrongSize = { code: "misconfigured", message: "ENCRYPTION_KEY must be 32 random bytes, base64-encoded" };

    expect(await refusal(sealSecret("s", { ENCRYPTION_KEY: undefined }, "c"))).toEqual(missing);
    expect(await refusal(openSecret("v1.a.b", { ENCRYPTION_KEY: "" }, "c"))).toEqual(missing);
    expect(await refusal(sealSecret("s", { ENCRYPTION_KEY: btoa("31 bytes, one short of the key!") }, "c"))).toEqual(wrongSize);
    expect(await refusal(sealSecret("s", { ENCRYPTION_KEY: btoa("33 bytes, one more than the key!!") }, "c"))).toEqual(wrongSize);
    expect(await refusal(sealSecret("s", { ENCRYPTION_KEY: "not base64 at all!" }, "c"))).toEqual(wrongSize);
  });
});
