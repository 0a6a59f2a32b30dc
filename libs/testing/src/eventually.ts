/**
 * Polls check() every 25 ms until it returns something other than undefined,
 * and resolves with it; rejects after timeoutMs with the last error check threw.
 */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  timeoutMs = 10_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until) throw new Error(`not within ${timeoutMs} ms: ${String(last ?? '')}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}
