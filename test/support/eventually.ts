/**
 * Waiting on something that settles in the background (the usage tailer polls the tables' streams):
 * read until it holds, with a generous deadline, never a fixed sleep.
 */

/** `read` until `done` holds of what it gives, for up to `ms`; then the last value read, held or not. */
export async function eventually<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  ms = 40_000,
): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > until) return value;
    await new Promise((r) => setTimeout(r, 250));
  }
}
