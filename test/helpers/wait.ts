/** Polls until fn returns a truthy value (real time), failing with the last value after timeoutMs. */
export async function waitFor<T>(
  fn: () => Promise<T> | T,
  timeoutMs = 30_000,
  label = "condition",
): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < until) {
    last = await fn();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${label}; last value: ${JSON.stringify(last)}`);
}
