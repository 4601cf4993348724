/**
 * The shortest admin token the relay takes. Nothing locks out a caller who guesses wrong (the
 * admin API and the console's login answer every attempt), so what stops guessing is the token's
 * length: 32 characters is 24 random bytes in base64, as `npm run dev` makes one.
 */
export const MIN_ADMIN_TOKEN_CHARS = 32;

/**
 * The admin token when it is in force: set, and long enough. A shorter one disables the admin API
 * and the console, and is looked for nowhere else either: `x` or `changeme` would be found in
 * keys and texts that have nothing to do with it.
 */
export function adminTokenInForce(env: { ADMIN_TOKEN?: string }): string | undefined {
  const token = env.ADMIN_TOKEN;
  return token && token.length >= MIN_ADMIN_TOKEN_CHARS ? token : undefined;
}
