// A bound on one awaited event, so that a hang fails the test with what it was waiting for
// instead of running into the test's own timeout.

/** `promise`, or a rejection naming `what` after `ms` (the timer is cleared once it settles). */
export function within<T>(promise: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what()}: nothing after ${ms} ms`)), ms); });
  return Promise.race([promise, bound]).finally(() => clearTimeout(timer));
}
