// loop(), poll(), poll2() and the per-event helpers: asyncore's reactor over the native poller.
//
// A pass asks every channel present at its start for readable()/writable(), tells the poller the
// masks that changed, waits for one libuv turn's worth of readiness (or the timeout), then calls
// the handlers in map order: select-style (all reads, then writes, then exceptional events) or
// poll-style (per channel: read, write, priority, hang-up). A channel closed during the pass gets
// no further calls in it, even if a new channel takes over its descriptor number.
import { POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT, POLLPRI } from "./constants.js";
import { DISCONNECTED, ExitNow, hasCode } from "./errors.js";
import * as poller from "./poller.js";

/** What loop() calls on the objects of a map. Dispatcher implements it. */
export interface Channel {
  readable(): boolean;
  writable(): boolean;
  accepting?: boolean;
  handleReadEvent(): void;
  handleWriteEvent(): void;
  handleExptEvent(): void;
  handleError(err: unknown): void;
  handleClose(): void;
  close?(): void;
  /** Internal: how the loop should poll this channel now (see PollState), asked when _pollHint is set. */
  [kPollState]?(): PollState;
  _pollHint?: boolean;
}

export type SocketMap = Map<number, Channel>;

/**
 * Internal protocol: a channel that waits for a name lookup is not polled; one that failed is ready;
 * one that holds its input back (output above its bound, input ended) is polled for writing only.
 */
export const kPollState = Symbol("asyncore.pollState");
export const enum PollState { Normal = 0, Hold = 1, ReadyNow = 2, Readable = 3, WriteOnly = 4 }

/** Internal: output a channel queued during a pass, sent when the pass ends (see flushAtPassEnd). */
export const kFlush = Symbol("asyncore.flush");
interface Flushable extends Channel {
  /** Sends what was deferred; false to stay deferred one more pass (more input is already buffered). */
  [kFlush](): boolean;
}

/** The default map: every dispatcher created without a map of its own joins it. */
export const socketMap: SocketMap = new Map();

function isReraised(err: unknown): boolean {
  return err instanceof ExitNow;
}

/** Calls obj.handleReadEvent(); an error (other than ExitNow) goes to obj.handleError(err). */
export function read(obj: Channel): void {
  try {
    obj.handleReadEvent();
  } catch (err) {
    if (isReraised(err)) throw err;
    obj.handleError(err);
  }
}

export function write(obj: Channel): void {
  try {
    obj.handleWriteEvent();
  } catch (err) {
    if (isReraised(err)) throw err;
    obj.handleError(err);
  }
}

export function exception(obj: Channel): void {
  try {
    obj.handleExptEvent();
  } catch (err) {
    if (isReraised(err)) throw err;
    obj.handleError(err);
  }
}

/** Poll-style dispatch of `flags` (POLL* bits) to `obj`: read, write, priority, then hang-up/error. */
export function readwrite(obj: Channel, flags: number): void {
  if (typeof flags !== "number") throw new TypeError(`flags must be a number of POLL* bits, got ${typeof flags}`);
  readwriteIn(obj, flags, -1);
}

// As readwrite(); with `at` >= 0, the channel at that index of the pass must still be open before
// each further step (a handler may close it).
function readwriteIn(obj: Channel, flags: number, at: number): void {
  try {
    if (flags & POLLIN) obj.handleReadEvent();
    if (flags & POLLOUT && (at < 0 || aliveAt(at))) obj.handleWriteEvent();
    if (flags & POLLPRI && (at < 0 || aliveAt(at))) obj.handleExptEvent();
    if (flags & (POLLHUP | POLLERR | POLLNVAL) && (at < 0 || aliveAt(at))) obj.handleClose();
  } catch (err) {
    if (isReraised(err)) throw err;
    if (hasCode(err, DISCONNECTED)) obj.handleClose();
    else obj.handleError(err);
  }
}

// ---- one pass -----------------------------------------------------------------------------

const READ_WANTED = 1;
const WRITE_WANTED = 2;
const READY_NOW = 4;     // a failed name lookup: readable and writable, as select() reports a failed socket
const READABLE_NOW = 8;  // input already read ahead: readable without asking the kernel

// Reused between passes: the channels present at the start of the pass, their fds and wants,
// and (by pass index) the readiness reported for them. Dispatch costs what is ready, not what is
// in the map: indexByFd finds a reported fd's channel, readyIdx lists the ready ones.
let passChannels: Channel[] = [];
let passFds = new Int32Array(256);
let passWants = new Uint8Array(256);
let passReady = new Int32Array(256);
let passCount = 0;
let passMap: SocketMap = socketMap;
let passUsePoll = false;
let passImmediate = false;
let indexByFd = new Int32Array(1024);  // pass index + 1; stale entries fail the passFds check
let readyIdx = new Int32Array(256);
let nReady = 0;
let nowIdx: number[] = [];             // channels ready without the kernel (read-ahead, failed lookup)

let dispatching = false;

function grown<T extends Int32Array | Uint8Array>(a: T, min: number): T {
  const b = new (a.constructor as { new (n: number): T })(Math.max(min, a.length * 2));
  b.set(a);
  return b;
}

function collect(obj: Channel, fd: number): void {
  // A key that is no descriptor would reach the poller (and watch some other fd): refuse it, as select() does.
  if (typeof fd !== "number") throw new TypeError(`socket map keys must be file descriptors, got ${typeof fd}`);
  if (!Number.isInteger(fd) || fd < 0 || fd > 0x7fffffff) throw new RangeError(`socket map key ${fd} is not a file descriptor`);
  const state = obj._pollHint === true ? obj[kPollState]!() : PollState.Normal;
  // WriteOnly: the channel holds its input back (readable() is not asked).
  const r = state !== PollState.WriteOnly && obj.readable();
  const w = obj.writable() && !obj.accepting;
  let mask: number;
  if (passUsePoll) mask = (r ? POLLIN | POLLPRI : 0) | (w ? POLLOUT : 0);
  else mask = (r ? POLLIN : 0) | (w ? POLLOUT : 0) | (r || w ? POLLPRI : 0);
  let now = 0;
  if (state === PollState.Hold) mask = 0;
  else if (state === PollState.ReadyNow) now = READY_NOW;
  else if (state === PollState.Readable && r) now = READABLE_NOW;
  poller.setInterest(fd, mask);
  const i = passCount++;
  if (i === passFds.length) {
    passFds = grown(passFds, i + 1);
    passWants = grown(passWants, i + 1);
    passReady = grown(passReady, i + 1);
    readyIdx = grown(readyIdx, i + 1);
  }
  if (fd >= indexByFd.length) indexByFd = grown(indexByFd, fd + 1);
  indexByFd[fd] = i + 1;
  passChannels[i] = obj;
  passFds[i] = fd;
  passWants[i] = (r ? READ_WANTED : 0) | (w ? WRITE_WANTED : 0) | now;
  if (now !== 0) {
    passImmediate = true;
    nowIdx.push(i);
  }
}

/** Is the i-th channel of the pass still the one in the map under its fd? */
function aliveAt(i: number): boolean {
  return passMap.get(passFds[i]!) === passChannels[i];
}

function markReady(i: number, revents: number): void {
  if (passReady[i] === 0) readyIdx[nReady++] = i;
  passReady[i] |= revents;
}

function dispatch(count: number, events: Int32Array): void {
  try {
    for (let k = 0; k < count; k++) {
      const fd = events[2 * k]!;
      const i = (fd < indexByFd.length ? indexByFd[fd]! : 0) - 1;
      if (i >= 0 && i < passCount && passFds[i] === fd) markReady(i, events[2 * k + 1]!);
      else if (!passMap.has(fd)) poller.setInterest(fd, 0);  // no channel owns it: stop watching
    }
    for (const i of nowIdx) markReady(i, passWants[i]! & READY_NOW ? POLLIN | POLLOUT : POLLIN);
    if (nReady > 1) readyIdx.subarray(0, nReady).sort();  // map order, as select() and poll() report
    if (passUsePoll) {
      for (let k = 0; k < nReady; k++) {
        const i = readyIdx[k]!;
        if (aliveAt(i)) readwriteIn(passChannels[i]!, passReady[i]!, i);
      }
    } else {
      // select(): a socket with an error or hang-up is readable and writable.
      for (let k = 0; k < nReady; k++) {
        const i = readyIdx[k]!;
        if (passWants[i]! & READ_WANTED && passReady[i]! & (POLLIN | POLLHUP | POLLERR | POLLNVAL) && aliveAt(i)) read(passChannels[i]!);
      }
      for (let k = 0; k < nReady; k++) {
        const i = readyIdx[k]!;
        if (passWants[i]! & WRITE_WANTED && passReady[i]! & (POLLOUT | POLLERR | POLLNVAL) && aliveAt(i)) write(passChannels[i]!);
      }
      for (let k = 0; k < nReady; k++) {
        const i = readyIdx[k]!;
        if (passReady[i]! & POLLPRI && aliveAt(i)) exception(passChannels[i]!);
      }
    }
  } finally {
    for (let k = 0; k < nReady; k++) passReady[readyIdx[k]!] = 0;
    nReady = 0;
    nowIdx.length = 0;
    passChannels.fill(undefined as unknown as Channel, 0, passCount);
    passCount = 0;
  }
}

// Passes run one at a time; a pass asked for while another waits starts when it ends.
interface PassRequest { map: SocketMap; timeout: number | null; usePoll: boolean; done: (err?: unknown) => void }
const queue: PassRequest[] = [];

// Fast passes: while passes find work, the next one asks the kernel directly (pollNow) instead of
// waiting for a turn of Node's loop; after MAX_BURST of them in a row, a turn is taken anyway so
// that timers and other I/O keep running.
const MAX_BURST = 64;
let burst = 0;
let lastPassHadEvents = false;

function startPass(req: PassRequest): void {
  passMap = req.map;
  passUsePoll = req.usePoll;
  passImmediate = false;
  passCount = 0;
  try {
    dispatching = true;  // readable()/writable() run inside the pass
    req.map.forEach(collect);
  } catch (err) {
    passChannels.fill(undefined as unknown as Channel, 0, passCount);
    passCount = 0;
    nowIdx.length = 0;
    dispatching = false;
    req.done(err);
    next();
    return;
  } finally {
    dispatching = false;
  }
  const timeout = passImmediate ? 0 : req.timeout;
  if (poller.canPollNow && burst < MAX_BURST && (timeout === 0 || lastPassHadEvents)) {
    const count = poller.pollNow();
    if (count > 0 || timeout === 0) {
      burst++;
      finishPass(req, count, poller.currentEvents());
      return;
    }
  }
  poller.wait(timeout, (count, events) => {
    burst = 0;
    finishPass(req, count, events);
  });
}

function finishPass(req: PassRequest, count: number, events: Int32Array): void {
  lastPassHadEvents = count > 0;
  let error: unknown;
  dispatching = true;
  try {
    dispatch(count, events);
  } catch (err) {
    error = err ?? new Error("a handler threw a nullish value");
  }
  try {
    flushDeferred();
  } catch (err) {
    error ??= err ?? new Error("a handler threw a nullish value");
  } finally {
    dispatching = false;
  }
  req.done(error);
  next();
}

// Output queued by handlers during a pass goes out in one send per channel when the pass ends,
// instead of one send per handler call; a channel whose next input is already buffered waits
// for the passes that consume it (they come at once: buffered input makes a pass not wait).
let deferred: Flushable[] = [];
let spare: Flushable[] = [];

/** True while a pass calls handlers (or readable()/writable()). */
export function inPass(): boolean {
  return dispatching;
}

/** Asks for obj[kFlush]() when the current pass ends. */
export function flushAtPassEnd(obj: Flushable): void {
  deferred.push(obj);
}

function flushDeferred(): void {
  if (deferred.length === 0) return;
  const list = deferred;
  deferred = spare;
  for (let i = 0; i < list.length; i++) {
    const obj = list[i]!;
    let done = true;
    try {
      done = obj[kFlush]();
    } catch (err) {
      if (isReraised(err)) {
        for (let j = i + 1; j < list.length; j++) deferred.push(list[j]!);
        list.length = 0;
        spare = list;
        throw err;
      }
      obj.handleError(err);
    }
    if (!done) deferred.push(obj);
  }
  list.length = 0;
  spare = list;
}

function next(): void {
  if (poller.isWaiting() || queue.length === 0) return;
  startPass(queue.shift()!);
}

function runPass(req: PassRequest): void {
  // Behind any queued pass: a loop() that asks again as its pass ends must not starve a loop()
  // on another map that has been waiting for its turn.
  if (poller.isWaiting() || dispatching || queue.length > 0) queue.push(req);
  else startPass(req);
}

/** A nudge from outside a pass (a timer, a promise): the pending wait ends so the next pass sees the change. */
export function wake(): void {
  if (!dispatching) poller.wake();
}

function checkTimeout(timeout: unknown, fallback: number): number | null {
  if (timeout === undefined) return fallback;
  if (timeout === null || timeout === Infinity) return null;
  if (typeof timeout !== "number") throw new TypeError(`timeout must be a number (seconds), got ${typeof timeout}`);
  if (Number.isNaN(timeout) || timeout < 0) throw new RangeError(`timeout must be a non-negative number of seconds, got ${timeout}`);
  return timeout;
}

function checkMap(map: unknown): SocketMap {
  if (map === undefined || map === null) return socketMap;
  if (!(map instanceof Map)) throw new TypeError("map must be a Map of fd to channel");
  return map as SocketMap;
}

function onePass(timeout: number | null, map: SocketMap, usePoll: boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    runPass({ map, timeout, usePoll, done: (err) => (err === undefined ? resolve() : reject(err)) });
  });
}

/** One select-style pass: waits up to `timeout` seconds (default 0) and dispatches what is ready. */
export function poll(timeout?: number | null, map?: SocketMap): Promise<void> {
  try {
    return onePass(checkTimeout(timeout, 0), checkMap(map), false);
  } catch (err) {
    return Promise.reject(err);
  }
}

/** One poll-style pass. */
export function poll2(timeout?: number | null, map?: SocketMap): Promise<void> {
  try {
    return onePass(checkTimeout(timeout, 0), checkMap(map), true);
  } catch (err) {
    return Promise.reject(err);
  }
}

/** Python's name for poll2. */
export const poll3 = poll2;

export interface LoopOptions {
  /** Seconds each pass waits at most (default 30; null waits without limit). */
  timeout?: number | null;
  /** Poll-style passes instead of select-style ones. */
  usePoll?: boolean;
  map?: SocketMap;
  /** Stop after this many passes (null: until the map is empty). */
  count?: number | null;
}

/** Runs passes until the map is empty or `count` passes are done. */
export function loop(options: LoopOptions = {}): Promise<void> {
  try {
    if (typeof options !== "object" || options === null) throw new TypeError("loop() takes an options object");
    const timeout = checkTimeout(options.timeout, 30);
    const map = checkMap(options.map);
    const usePoll = options.usePoll ?? false;
    if (typeof usePoll !== "boolean") throw new TypeError("usePoll must be a boolean");
    let count = options.count ?? null;
    if (count !== null && (typeof count !== "number" || Number.isNaN(count))) throw new TypeError("count must be a number or null");
    return new Promise((resolve, reject) => {
      const step = (err?: unknown): void => {
        if (err !== undefined) return reject(err);
        if (map.size === 0 || (count !== null && count <= 0)) return resolve();
        if (count !== null) count--;
        runPass({ map, timeout, usePoll, done: step });
      };
      step();
    });
  } catch (err) {
    return Promise.reject(err);
  }
}

/** Closes every channel of `map` (default socketMap) and empties it. */
export function closeAll(map?: SocketMap, ignoreAll = false): void {
  const m = checkMap(map);
  for (const obj of [...m.values()]) {
    try {
      obj.close?.();
    } catch (err) {
      if (isReraised(err)) throw err;
      if ((err as { code?: unknown })?.code === "EBADF") continue;
      if (!ignoreAll) throw err;
    }
  }
  m.clear();
}
