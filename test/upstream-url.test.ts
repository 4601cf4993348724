import { describe, expect, it } from "vitest";
import { checkBaseUrl, checkUpstreamUrl } from "../src/tenants/upstream-url.js";

describe("Braintrust base URLs", () => {
  // Each special-purpose IPv4 range (RFC 6890 and successors): its first and last address, and the addresses just outside it.
  it.each([
    ["0.0.0.0", "0.255.255.255", undefined, "1.0.0.0"],
    ["10.0.0.0", "10.255.255.255", "9.255.255.255", "11.0.0.0"],
    ["100.64.0.0", "100.127.255.255", "100.63.255.255", "100.128.0.0"],
    ["127.0.0.0", "127.255.255.255", "126.255.255.255", "128.0.0.0"],
    ["169.254.0.0", "169.254.255.255", "169.253.255.255", "169.255.0.0"],
    ["172.16.0.0", "172.31.255.255", "172.15.255.255", "172.32.0.0"],
    ["192.0.0.0", "192.0.0.255", "191.255.255.255", "192.0.1.0"],
    ["192.0.2.0", "192.0.2.255", "192.0.1.255", "192.0.3.0"],
    ["192.88.99.0", "192.88.99.255", "192.88.98.255", "192.88.100.0"],
    ["192.168.0.0", "192.168.255.255", "192.167.255.255", "192.169.0.0"],
    ["198.18.0.0", "198.19.255.255", "198.17.255.255", "198.20.0.0"],
    ["198.51.100.0", "198.51.100.255", "198.51.99.255", "198.51.101.0"],
    ["203.0.113.0", "203.0.113.255", "203.0.112.255", "203.0.114.0"],
    ["224.0.0.0", "255.255.255.255", "223.255.255.255", undefined],
  ])("refuses %s to %s as not public, and takes the addresses just outside", (first, last, before, after) => {
    for (const address of [first, last]) {
      expect(checkUpstreamUrl(`https://${address}`, false)).toEqual({
        ok: false,
        reason: expect.stringContaining(`${address} is a private, loopback or reserved address`),
      });
    }
    for (const address of [before, after].filter((a) => a !== undefined)) {
      expect(checkUpstreamUrl(`https://${address}`, false)).toEqual({ ok: true, url: `https://${address}` });
    }
  });

  it.each([
    ["https://api.braintrust.dev", "https://api.braintrust.dev"],
    ["https://api-eu.braintrust.dev/", "https://api-eu.braintrust.dev"],
    ["https://braintrust.example.com/self-hosted/api/", "https://braintrust.example.com/self-hosted/api"],
    ["https://BRAINTRUST.example.com:8443", "https://braintrust.example.com:8443"],
    ["https://8.8.8.8", "https://8.8.8.8"],
    ["https://[2606:4700::1111]", "https://[2606:4700::1111]"],
    // Just outside the reserved ranges of 2000::/3: ORCHIDv2 is reachable, the others end a bit before.
    ["https://[2001:20::1]", "https://[2001:20::1]"],
    ["https://[2001:2:1::1]", "https://[2001:2:1::1]"],
    ["https://[3fff:1000::1]", "https://[3fff:1000::1]"],
    ["https://api.braintrust.dev.", "https://api.braintrust.dev."],
  ])("accepts %s as %s", (raw, normalized) => {
    expect(checkUpstreamUrl(raw, false)).toEqual({ ok: true, url: normalized });
  });

  it.each([
    ["http://api.braintrust.dev", "must use https"],
    ["ftp://api.braintrust.dev", "must use https"],
    ["https://localhost", "local name"],
    ["https://localhost.", "local name"],
    ["https://localhost..", "local name"],
    ["https://braintrust.internal...", "local name"],
    ["https://127.0.0.1..", "private, loopback or reserved"],
    ["https://127.1.", "private, loopback or reserved"],
    ["https://[::1]", "not a global IPv6 address"],
    ["https://api..braintrust.dev", "not a valid host name"],
    ["https://.", "not a valid host name"],
    ["https://braintrust.localhost", "local name"],
    ["https://metadata.google.internal", "local name"],
    ["https://printer.local", "local name"],
    ["https://braintrust.localdomain", "local name"],
    ["https://nas.lan", "local name"],
    ["https://router.home.arpa", "local name"],
    ["https://api.braintrust.dev/#x", "must not have a query or fragment"],
    ["https://intranet", "not a fully qualified name"],
    // A key pasted as the host: not repeated.
    ["https://sk-0123456789abcdefghijklmnopqrstuv", "must be a public host: a name of 35 characters is not a fully qualified name"],
    ["https://[2001:0db8:0000:0000:0000:0000:0000:0001]", "[2001:db8::1] is not a global IPv6 address"],
    ["https://127.0.0.1", "private, loopback or reserved"],
    ["https://127.1", "private, loopback or reserved"],
    ["https://2130706433", "private, loopback or reserved"],
    ["https://0x7f000001", "private, loopback or reserved"],
    ["https://0177.0.0.1", "private, loopback or reserved"],
    ["https://10.1.2.3", "private, loopback or reserved"],
    ["https://172.16.0.1", "private, loopback or reserved"],
    ["https://192.168.1.1", "private, loopback or reserved"],
    ["https://169.254.169.254", "private, loopback or reserved"],
    ["https://100.64.0.1", "private, loopback or reserved"],
    ["https://0.0.0.0", "private, loopback or reserved"],
    ["https://224.0.0.1", "private, loopback or reserved"],
    ["https://[::1]", "not a global IPv6 address"],
    ["https://[::]", "not a global IPv6 address"],
    ["https://[::ffff:127.0.0.1]", "not a global IPv6 address"],
    ["https://[::ffff:169.254.169.254]", "not a global IPv6 address"],
    ["https://[fe80::1]", "not a global IPv6 address"],
    ["https://[fd00::1]", "not a global IPv6 address"],
    ["https://[64:ff9b::a9fe:a9fe]", "not a global IPv6 address"],
    ["https://[2002:a9fe:a9fe::1]", "not a global IPv6 address"],
    ["https://[2001:db8::1]", "not a global IPv6 address"],
    ["https://[3fff::1]", "not a global IPv6 address"],
    ["https://[3fff:fff:ffff::1]", "not a global IPv6 address"],
    ["https://[2001:2::1]", "not a global IPv6 address"],
    ["https://[2001:1f::1]", "not a global IPv6 address"],
    ["https://user:secret@api.braintrust.dev", "must not carry credentials"],
    ["https://:secret@api.braintrust.dev", "must not carry credentials"],
    ["https://user@api.braintrust.dev", "must not carry credentials"],
    ["https://api.braintrust.dev/?x=1", "must not have a query or fragment"],
    ["api.braintrust.dev", "must be an absolute URL"],
  ])("refuses %s (%s)", (raw, reason) => {
    const check = checkUpstreamUrl(raw, false);
    expect(check.ok).toBe(false);
    expect(check.ok ? "" : check.reason).toContain(reason);
  });

  it("says how to allow http and local addresses, for local development, and not for other schemes", () => {
    const hint = "(http and local addresses are allowed only where ALLOW_INSECURE_UPSTREAM is true, for local development)";
    expect(checkUpstreamUrl("http://127.0.0.1:8787", false)).toEqual({ ok: false, reason: `must use https ${hint}` });
    expect(checkUpstreamUrl("https://127.0.0.1:8787", false)).toEqual({
      ok: false,
      reason: `must be a public host: 127.0.0.1 is a private, loopback or reserved address ${hint}`,
    });
    expect(checkUpstreamUrl("ftp://api.braintrust.dev", false)).toEqual({ ok: false, reason: "must use https" });
  });

  it.each([
    ["https://api.braintrust.dev/otel/v1/traces", "/otel/v1/traces"],
    ["https://api.braintrust.dev/otel/v1/traces/", "/otel/v1/traces"],
    ["https://api.braintrust.dev/OTEL/V1/TRACES", "/OTEL/V1/TRACES"],
  ])("refuses %s to save, which the relay would add its endpoint's path to again, and says what to give instead", (raw, given) => {
    expect(checkBaseUrl(raw, false)).toEqual({
      ok: false,
      reason: `must be Braintrust's base URL, without /otel/v1/traces: the relay adds /otel/v1/traces, so give https://api.braintrust.dev, not https://api.braintrust.dev${given}`,
    });
  });

  it.each([
    "https://api.braintrust.dev/%6Ftel/v1/traces",
    "https://api.braintrust.dev/otel/v1/%74races",
    "https://api.braintrust.dev/otel//v1/traces",
    "https://api.braintrust.dev/otel/v1//traces//",
  ])("refuses %s to save, spelled otherwise as a server reads it all the same, without naming a base it could not spell back", (raw) => {
    expect(checkBaseUrl(raw, false)).toEqual({
      ok: false,
      reason: "must be Braintrust's base URL, without /otel/v1/traces: the relay adds /otel/v1/traces",
    });
  });

  it.each([
    // The base Braintrust's docs give its OpenTelemetry exporters (OTEL_EXPORTER_OTLP_ENDPOINT).
    ["https://api.braintrust.dev/otel", "https://api.braintrust.dev", "/otel"],
    ["https://api-eu.braintrust.dev/otel/", "https://api-eu.braintrust.dev", "/otel"],
    ["https://braintrust.example.com/self-hosted/api/otel/v1/traces", "https://braintrust.example.com/self-hosted/api", "/otel/v1/traces"],
    // Escapes before the endpoint's path are named back as given, which the URL then keeps.
    ["https://braintrust.example.com/a%2Fb/otel", "https://braintrust.example.com/a%2Fb", "/otel"],
  ])("refuses %s to save and names the base URL of the same deployment to give instead", (raw, base, suffix) => {
    expect(checkBaseUrl(raw, false)).toEqual({
      ok: false,
      reason: `must be Braintrust's base URL, without ${suffix}: the relay adds /otel/v1/traces, so give ${base}, not ${base}${suffix}`,
    });
    expect(checkBaseUrl(base, false)).toEqual({ ok: true, url: base });
  });

  it("does not repeat a path segment that may be a pasted key when it refuses an endpoint's path", () => {
    const key = `sk-${"a".repeat(40)}`;
    const check = checkBaseUrl(`https://braintrust.example.com/${key}/otel`, false);
    expect(check).toEqual({ ok: false, reason: "must be Braintrust's base URL, without /otel: the relay adds /otel/v1/traces" });
  });

  it("delivers for a tenant saved with an endpoint's path before it was refused: the path is no reason to keep the key back", () => {
    expect(checkUpstreamUrl("https://braintrust.example.com/otel", false)).toEqual({
      ok: true,
      url: "https://braintrust.example.com/otel",
    });
  });

  it("takes a base URL whose path only mentions OTLP as a part of a name", () => {
    expect(checkBaseUrl("https://braintrust.example.com/hotel", false)).toEqual({
      ok: true,
      url: "https://braintrust.example.com/hotel",
    });
    // A gateway mounted under /otel/v1 is a base URL like any other.
    expect(checkBaseUrl("https://braintrust.example.com/otel/v1", false)).toEqual({
      ok: true,
      url: "https://braintrust.example.com/otel/v1",
    });
    expect(checkBaseUrl("https://braintrust.example.com/otel-proxy", false)).toEqual({
      ok: true,
      url: "https://braintrust.example.com/otel-proxy",
    });
  });

  it("allows http and loopback only with ALLOW_INSECURE_UPSTREAM", () => {
    expect(checkUpstreamUrl("http://127.0.0.1:8787/", true)).toEqual({ ok: true, url: "http://127.0.0.1:8787" });
    expect(checkUpstreamUrl("http://localhost:8787", true)).toEqual({ ok: true, url: "http://localhost:8787" });
    expect(checkUpstreamUrl("file:///etc/passwd", true).ok).toBe(false);
  });
});
