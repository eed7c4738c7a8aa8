// Idle timeouts: a channel with `idleTimeout` set gets handleTimeout() once no read or write event
// has been dispatched to it, and nothing has been sent on it, for that many seconds.
//
// There is no timer per channel. A channel with a timeout carries a small record (its timeout and
// when it was last active); each pass reads the records of the channels it collects anyway, ends
// its wait at the nearest deadline, and after dispatching calls handleTimeout() on the channels
// whose deadline has passed. An event or a send only stamps the record. Channels without a
// timeout carry `null` and cost one field check per pass; an empty map waits on nothing.
import { performance } from "node:perf_hooks";
import { ETIMEDOUT, systemError } from "./errors.js";
import { wake } from "./loop.js";

/** Internal: a channel's idle timeout (milliseconds) and when it was last active (performance.now()). */
export interface IdleRecord {
  ms: number;
  last: number;
}

/** The channels that can have an idle timeout: Dispatcher and its subclasses. */
export interface IdleChannel {
  /** @internal */
  _idle: IdleRecord | null;
  handleClose(): void;
}

/** The clock of deadlines and stamps: monotonic milliseconds. */
export const now: () => number = () => performance.now();

/** `idleTimeout`'s getter: seconds, or null. */
export function getIdleTimeout(ch: IdleChannel): number | null {
  return ch._idle === null ? null : ch._idle.ms / 1000;
}

/**
 * `idleTimeout`'s setter. Seconds > 0 (re)starts the idle period now; null, 0 or Infinity removes
 * the timeout. A wait in progress ends, so that the next pass waits for the new deadline.
 */
export function setIdleTimeout(ch: IdleChannel, seconds: number | null | undefined): void {
  if (seconds === null || seconds === undefined || seconds === 0 || seconds === Infinity) {
    if (ch._idle !== null) ch._idle = null;  // null may be a class default: not copied onto every channel
    return;
  }
  if (typeof seconds !== "number") throw new TypeError(`idleTimeout must be a number of seconds or null, got ${typeof seconds}`);
  if (Number.isNaN(seconds) || seconds < 0) throw new RangeError(`idleTimeout must be a positive number of seconds, got ${seconds}`);
  const ms = seconds * 1000;
  if (ch._idle === null) ch._idle = { ms, last: now() };
  else {
    ch._idle.ms = ms;
    ch._idle.last = now();
  }
  wake();
}

/** Marks the channel active now (a send). */
export function touchIdle(rec: IdleRecord): void {
  rec.last = now();
}

/** handleTimeout()'s default: closeError is an ETIMEDOUT error, then handleClose(). */
export function closeOnTimeout(ch: IdleChannel): void {
  const detail = ch._idle === null ? undefined : `(no activity for ${ch._idle.ms / 1000} s)`;
  (ch as { closeError?: Error | null }).closeError = systemError(ETIMEDOUT, "idle", detail);
  ch.handleClose();
}
