// Called by the channels (Dispatcher, DispatcherWithSend, AsyncChat, DatagramDispatcher, the TLS channel)
// and by loop.ts: the one protocol between a channel and the pass beyond Python's readable()/writable().
//
// A channel tells the pass two things. recheck(): its polling state may have changed (a name
// lookup, input read ahead, output above its bound, accepting paused), so the next pass asks it
// [kPassState]() before polling it; every other channel costs the pass one field load. And
// deferToPassEnd(): output queued by a handler goes out when the pass ends, in one gather-write per
// channel ([kFlush]()), instead of one send per handler call.
import { ExitNow } from "./errors.js";
import type { IdleRecord } from "./idle.js";
import { MAX_DEFERRED } from "./output-bound.js";
import { kBuffered } from "./socket.js";

/**
 * How the pass polls a channel: a channel that waits for a name lookup is not polled (Hold); one
 * whose lookup failed is ready without asking the kernel (ReadyNow, as select() reports a failed
 * socket); one with input read ahead is readable without asking (Readable); one that holds its
 * input back (output above its bound, input ended) is polled for writing only (WriteOnly).
 * @internal
 */
export const enum PassState { Normal = 0, Hold = 1, ReadyNow = 2, Readable = 3, WriteOnly = 4 }

/** @internal */
export const kPassState = Symbol("asyncore.passState");

/** @internal What the pass reads of a channel besides Channel: Dispatcher has it all, a user's own object none. */
export interface PassAware {
  /** Set by recheck(): the next pass asks [kPassState](); cleared once it answers Normal. */
  _pollHint?: boolean;
  [kPassState]?(): PassState;
  /** The idle timeout's record (see idle.ts); null or absent: none. */
  _idle?: IdleRecord | null;
}

/** @internal The channel's polling state may have changed: the next pass asks it [kPassState](). */
export function recheck(ch: PassAware): void {
  ch._pollHint = true;
}

/**
 * @internal loop.ts, for a channel whose _pollHint is set (the pass tests that field itself: one
 * load per channel and pass). Normal clears the hint: the channel is polled as any other again.
 */
export function askState(ch: PassAware): PassState {
  const state = ch[kPassState]!();
  if (state === PassState.Normal) ch._pollHint = false;
  return state;
}

// ---- output deferred to the end of the pass --------------------------------------------------

/** @internal */
export const kFlush = Symbol("asyncore.flush");

/** @internal A channel whose output may wait for the pass end: DispatcherWithSend, AsyncChat. */
export interface Deferring {
  /** True while the pass end owes this channel a [kFlush]() (set by deferToPassEnd()). */
  _flushPending: boolean;
  /**
   * Sends what was deferred (called with _flushPending cleared, on an open channel); false to
   * wait one more pass (its next input is already buffered: that pass comes at once).
   */
  [kFlush](): boolean;
  _isClosed(): boolean;
  handleError(err: unknown): void;
}

let dispatching = false;
let deferred: (Deferring | undefined)[] = [];
let nDeferred = 0;
let spare: (Deferring | undefined)[] = [];

/** @internal loop.ts: handlers (or readable()/writable()) are being called from now on, or no longer. */
export function setInPass(on: boolean): void {
  dispatching = on;
}

/** @internal True while a pass calls handlers (or readable()/writable()). */
export function inPass(): boolean {
  return dispatching;
}

/**
 * @internal In send()/push(): true when the channel's output goes out when the pass ends (it is
 * listed once per pass), false outside a pass: the caller sends now.
 */
export function deferToPassEnd(ch: Deferring): boolean {
  if (!dispatching) return false;
  if (!ch._flushPending) {
    ch._flushPending = true;
    deferred[nDeferred++] = ch;
  }
  return true;
}

/**
 * @internal In [kFlush](): may `queued` bytes of output wait one more pass? Only while the
 * channel's next input is already read ahead and the channel is reading it: it reads now
 * (readable(), input not held back), and since the last pass that waited it took some of that
 * input (a handler that stopped reading would otherwise keep its answer for ever; Python sends at
 * send() time); never past MAX_DEFERRED. The pass that reads the rest comes at once.
 */
export function inputFollows(ch: ReadingChannel, queued: number): boolean {
  const ahead = ch.socket === null ? 0 : ch.socket[kBuffered]();
  const last = ch._aheadWhenDeferred;
  if (ahead > 0 && ahead !== last && queued < MAX_DEFERRED && !ch._holdsInput() && ch.readable()) {
    ch._aheadWhenDeferred = ahead;
    return true;
  }
  if (last !== -1) ch._aheadWhenDeferred = -1;  // written only when set: an idle channel keeps its shape
  return false;
}

/** @internal What inputFollows() reads of a channel (DispatcherWithSend, AsyncChat). */
export interface ReadingChannel {
  socket: { [kBuffered](): number } | null;
  /** The read-ahead bytes when output last waited for them; -1: it did not (the prototype's default). */
  _aheadWhenDeferred: number;
  _holdsInput(): boolean;
  readable(): boolean;
}

/** @internal In close(): true when the pass end owed the channel a flush; it no longer does (send it now). */
export function takeDeferred(ch: Deferring): boolean {
  if (!ch._flushPending) return false;
  ch._flushPending = false;
  return true;
}

/** @internal loop.ts, when a pass's handlers are done: [kFlush]() for each channel that deferred output. */
export function flushDeferred(): void {
  if (nDeferred === 0) return;
  const list = deferred;
  const n = nDeferred;
  deferred = spare;
  nDeferred = 0;
  try {
    for (let i = 0; i < n; i++) {
      const ch = list[i]!;
      if (!takeDeferred(ch)) continue;  // close() sent it already
      let done = true;
      try {
        if (!ch._isClosed()) done = ch[kFlush]();  // a closed channel's output went with its socket
      } catch (err) {
        if (err instanceof ExitNow) {
          for (let j = i + 1; j < n; j++) deferred[nDeferred++] = list[j];
          throw err;
        }
        ch.handleError(err);
      }
      if (!done) {
        ch._flushPending = true;
        deferred[nDeferred++] = ch;
      }
    }
  } finally {
    for (let i = 0; i < n; i++) list[i] = undefined;  // hold no channel past the pass
    spare = list;
  }
}
