// Imported by DispatcherWithSend (dispatcher-with-send.ts) and AsyncChat (asynchat.ts): the output
// bound and the deferral limit that both channels with an output queue share, in one place.

/** The default output bound of DispatcherWithSend and AsyncChat (outputHighWater): 1 MiB. */
export const DEFAULT_OUTPUT_HIGH_WATER = 1024 * 1024;

/** Checks an outputHighWater value: a non-negative number of bytes, or Infinity. */
export function checkHighWater(value: unknown): number {
  if (typeof value !== "number" || Number.isNaN(value) || value < 0) {
    throw new RangeError(`outputHighWater must be a non-negative number of bytes (or Infinity), got ${String(value)}`);
  }
  return value;
}

/** Deferred output past this size is sent without waiting for the pass to end (DispatcherWithSend, AsyncChat). */
export const MAX_DEFERRED = 256 * 1024;
