/**
 * This machine, by a name or address the connection never leaves it for: `localhost` and the loopback
 * addresses. (A browser also takes `*.localhost` to this machine itself; Node asks DNS for it.)
 */
export function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "[::1]" || /^127(\.\d{1,3}){3}$/.test(hostname);
}
