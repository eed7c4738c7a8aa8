// Exported by index.ts (loop, poll, poll2, closeAll, socketMap, wake...); the channels add themselves
// to its maps and call wake(): asyncore's reactor, the passes over a map of channels and the poller.
//
// A pass asks every channel present at its start for readable()/writable(), tells the poller the
// masks that changed, waits for one libuv turn's worth of readiness (or the timeout), then calls
// the handlers in map order: select-style (all reads, then writes, then exceptional events) or
// poll-style (per channel: read, write, priority, hang-up). A channel closed during the pass gets
// no further calls in it, even if a new channel takes over its descriptor number.
import { POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT, POLLPRI } from "./constants.js";
import { ExitNow, isBadDescriptor, isDisconnect } from "./errors.js";
import * as poller from "./poller.js";
import { now as clock } from "./idle.js";
import { type PassAware, PassState, askState, flushDeferred, inPass, setInPass } from "./pass.js";

/** What loop() calls on the objects of a map: Python's methods, and two optional ones. Dispatcher implements it. */
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
  /** Called instead of handleClose() for a hang-up or error reported by the poller (poll-style passes). */
  handleCloseEvent?(revents: number): void;
  /** Called when the channel has been idle for its idle timeout (default of a channel without it: handleClose()). */
  handleTimeout?(): void;
}

export type SocketMap = Map<number, Channel>;

// What a pass sees of a channel: Channel, and the pass protocol (pass.ts) when it has it.
type PassChannel = Channel & PassAware;

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

/**
 * Poll-style dispatch of `flags` (POLL* bits) to `obj`: read, write, priority, then hang-up/error
 * (handleCloseEvent(flags) where the channel has it, else handleClose()). A hang-up that comes with
 * input (POLLIN, no POLLERR/POLLNVAL) is delivered as the read alone: the reader reaches the end of
 * the stream itself, after the peer's last bytes (Python's readwrite closes at once and loses them).
 */
export function readwrite(obj: Channel, flags: number): void {
  if (typeof flags !== "number") throw new TypeError(`flags must be a number of POLL* bits, got ${typeof flags}`);
  readwriteIn(obj, flags, -1);
}

const FAILED = POLLERR | POLLNVAL;
const HANGUP = POLLHUP | POLLERR | POLLNVAL;

// As readwrite(); with `at` >= 0, the channel at that index of the pass must still be open before
// each further step (a handler may close it).
function readwriteIn(obj: Channel, flags: number, at: number): void {
  if (flags & POLLIN && !(flags & FAILED)) flags &= ~POLLHUP;
  try {
    if (flags & POLLIN) obj.handleReadEvent();
    if (flags & POLLOUT && (at < 0 || aliveAt(at))) obj.handleWriteEvent();
    if (flags & POLLPRI && (at < 0 || aliveAt(at))) obj.handleExptEvent();
    if (flags & HANGUP && (at < 0 || aliveAt(at))) {
      if (typeof obj.handleCloseEvent === "function") obj.handleCloseEvent(flags);
      else obj.handleClose();
    }
  } catch (err) {
    if (isReraised(err)) throw err;
    if (isDisconnect(err)) {
      // a reset or error, not a clean end: a channel that tells them apart (closeError) sees which
      if ("closeError" in obj) (obj as { closeError: unknown }).closeError = err;
      obj.handleClose();
    } else obj.handleError(err);
  }
}

// ---- one pass -----------------------------------------------------------------------------

const READ_WANTED = 1;
const WRITE_WANTED = 2;
const READY_NOW = 4;     // a failed name lookup: readable and writable, as select() reports a failed socket
const READABLE_NOW = 8;  // input already read ahead: readable without asking the kernel
const TIMED = 16;        // has an idle timeout: dispatched reads and writes stamp it

// Reused between passes: the channels present at the start of the pass, their fds and wants,
// and (by pass index) the readiness reported for them. Dispatch costs what is ready, not what is
// in the map: indexByFd finds a reported fd's channel, readyIdx lists the ready ones.
let passChannels: PassChannel[] = [];
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
// Index lists with a count each (emptying a plain array each pass calls into the runtime).
let nowIdx = new Int32Array(64);       // channels ready without the kernel (read-ahead, failed lookup)
let nNow = 0;
let timedIdx = new Int32Array(64);     // channels with an idle timeout, in map order
let nTimed = 0;
let passDeadline = Infinity;           // the nearest idle deadline of the pass (clock() milliseconds)
let passWaitEnd = Infinity;            // when the pass's wait ends (clock() milliseconds)
let passTime = 0;                      // when dispatching began: the stamp of dispatched events

function grown<T extends Int32Array | Uint8Array>(a: T, min: number): T {
  const b = new (a.constructor as { new (n: number): T })(Math.max(min, a.length * 2));
  b.set(a);
  return b;
}

function checkFd(fd: number): void {
  // A key that is no descriptor would reach the poller (and watch some other fd): refuse it, as select() does.
  if (typeof fd !== "number") throw new TypeError(`socket map keys must be file descriptors, got ${typeof fd}`);
  if (!Number.isInteger(fd) || fd < 0 || fd > 0x7fffffff) throw new RangeError(`socket map key ${fd} is not a file descriptor`);
  if (fd < indexByFd.length) return;  // within the tables already: below the limit
  // Tables indexed by fd never grow past the descriptor limit: the poller knows it (RLIMIT_NOFILE).
  try {
    poller.checkFd(fd);
  } catch (err) {
    if (err instanceof RangeError) throw new RangeError(`socket map key ${fd} is above the descriptor limit (${err.message})`);
    throw err;
  }
}

function collect(obj: PassChannel, fd: number): void {
  checkFd(fd);
  const state = obj._pollHint === true ? askState(obj) : PassState.Normal;
  // WriteOnly: the channel holds its input back (readable() is not asked).
  const r = state !== PassState.WriteOnly && obj.readable();
  const w = obj.writable() && !obj.accepting;
  let mask: number;
  if (passUsePoll) mask = (r ? POLLIN | POLLPRI : 0) | (w ? POLLOUT : 0);
  else mask = (r ? POLLIN : 0) | (w ? POLLOUT : 0) | (r || w ? POLLPRI : 0);
  let now = 0;
  if (state === PassState.Hold) mask = 0;
  else if (state === PassState.ReadyNow) now = READY_NOW;
  else if (state === PassState.Readable && r) now = READABLE_NOW;
  if (collectingOnly) {
    // A queued map's channel: only its interest, so that its readiness ends the pass that waits.
    poller.setInterest(fd, mask);
    if (now !== 0) passImmediate = true;
    const idle = obj._idle;
    if (idle != null && idle.last + idle.ms < passDeadline) passDeadline = idle.last + idle.ms;
    return;
  }
  poller.setInterest(fd, mask);
  const i = passCount++;
  if (i === passFds.length) {
    passFds = grown(passFds, i + 1);
    passWants = grown(passWants, i + 1);
    passReady = grown(passReady, i + 1);
    readyIdx = grown(readyIdx, i + 1);
  }
  if (fd >= indexByFd.length) indexByFd = grown(indexByFd, fd + 1);  // fd is below the limit (checkFd)
  indexByFd[fd] = i + 1;
  passChannels[i] = obj;
  passFds[i] = fd;
  let wants = (r ? READ_WANTED : 0) | (w ? WRITE_WANTED : 0) | now;
  const idle = obj._idle;
  if (idle != null) {
    wants |= TIMED;
    if (nTimed === timedIdx.length) timedIdx = grown(timedIdx, nTimed + 1);
    timedIdx[nTimed++] = i;
    const deadline = idle.last + idle.ms;
    if (deadline < passDeadline) passDeadline = deadline;
  }
  passWants[i] = wants;
  if (now !== 0) {
    passImmediate = true;
    if (nNow === nowIdx.length) nowIdx = grown(nowIdx, nNow + 1);
    nowIdx[nNow++] = i;
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

/** A read or write event goes to the i-th channel: it is not idle. */
function stamp(i: number): void {
  const idle = passChannels[i]!._idle;
  if (idle != null) idle.last = passTime;
}

// Ready channels in pass (map) order. Readiness mostly comes in fd order, close to map order:
// an insertion sort of a few entries costs less than a typed-array sort (a runtime call).
function sortReady(): void {
  if (nReady > 32) {
    readyIdx.subarray(0, nReady).sort();
    return;
  }
  for (let k = 1; k < nReady; k++) {
    const v = readyIdx[k]!;
    let j = k - 1;
    while (j >= 0 && readyIdx[j]! > v) {
      readyIdx[j + 1] = readyIdx[j]!;
      j--;
    }
    readyIdx[j + 1] = v;
  }
}

// The pass holds no channel once it ends (a closed one can be collected).
function releaseChannels(): void {
  for (let i = 0; i < passCount; i++) passChannels[i] = undefined as unknown as PassChannel;
  passCount = 0;
}

function dispatch(count: number, events: Int32Array): void {
  try {
    passTime = clock();
    for (let k = 0; k < count; k++) {
      const fd = events[2 * k]!;
      const i = (fd < indexByFd.length ? indexByFd[fd]! : 0) - 1;
      if (i >= 0 && i < passCount && passFds[i] === fd) markReady(i, events[2 * k + 1]!);
      else if (!passMap.has(fd) && !inQueuedMap(fd)) poller.setInterest(fd, 0);  // no channel owns it: stop watching
    }
    for (let k = 0; k < nNow; k++) {
      const i = nowIdx[k]!;
      markReady(i, passWants[i]! & READY_NOW ? POLLIN | POLLOUT : POLLIN);
    }
    sortReady();  // map order, as select() and poll() report
    if (passUsePoll) {
      for (let k = 0; k < nReady; k++) {
        const i = readyIdx[k]!;
        const wants = passWants[i]!;
        // only what the channel asked for (a backend may report more), and hang-ups and errors
        let flags = passReady[i]! & (HANGUP | (wants & READ_WANTED ? POLLIN | POLLPRI : 0) | (wants & WRITE_WANTED ? POLLOUT : 0));
        // A hang-up on a channel that reads is a read: it sees the peer's last bytes, then the end.
        if (flags & POLLHUP && wants & READ_WANTED && !(flags & FAILED)) flags |= POLLIN;
        if (wants & TIMED && flags & (POLLIN | POLLOUT)) stamp(i);
        if (aliveAt(i)) readwriteIn(passChannels[i]!, flags, i);
      }
    } else {
      // select(): a socket with an error or hang-up is readable and writable.
      for (let k = 0; k < nReady; k++) {
        const i = readyIdx[k]!;
        if (passWants[i]! & READ_WANTED && passReady[i]! & (POLLIN | HANGUP) && aliveAt(i)) {
          if (passWants[i]! & TIMED) stamp(i);
          read(passChannels[i]!);
        }
      }
      for (let k = 0; k < nReady; k++) {
        const i = readyIdx[k]!;
        if (passWants[i]! & WRITE_WANTED && passReady[i]! & (POLLOUT | FAILED) && aliveAt(i)) {
          if (passWants[i]! & TIMED) stamp(i);
          write(passChannels[i]!);
        }
      }
      for (let k = 0; k < nReady; k++) {
        const i = readyIdx[k]!;
        if (passReady[i]! & POLLPRI && aliveAt(i)) exception(passChannels[i]!);
      }
    }
    if (nTimed > 0 && passDeadline <= clock() + 1) expireIdle();
  } finally {
    for (let k = 0; k < nReady; k++) passReady[readyIdx[k]!] = 0;
    nReady = 0;
    nNow = 0;
    nTimed = 0;
    releaseChannels();
  }
}

// handleTimeout() for the channels of the pass whose idle deadline has passed, in map order.
function expireIdle(): void {
  const t = clock();
  for (let k = 0; k < nTimed; k++) {
    const i = timedIdx[k]!;
    if (!aliveAt(i)) continue;
    const obj = passChannels[i]!;
    const idle = obj._idle;
    if (idle == null || idle.last + idle.ms > t + 1) continue;
    idle.last = t;  // a handleTimeout() that keeps the channel open starts a new idle period
    try {
      if (typeof obj.handleTimeout === "function") obj.handleTimeout();
      else obj.handleClose();
    } catch (err) {
      if (isReraised(err)) throw err;
      obj.handleError(err);
    }
  }
}

// Select-style: would the pass call nothing for these events? select() does not report a hang-up
// of a socket that is only asked for writing (and has no error), but epoll and poll(2) always do;
// such a descriptor would end every wait at once. Returns false as soon as one event counts.
function ignoredOnly(count: number, events: Int32Array): boolean {
  if (passUsePoll || nNow > 0) return false;
  for (let k = 0; k < count; k++) {
    const fd = events[2 * k]!;
    const revents = events[2 * k + 1]!;
    const i = (fd < indexByFd.length ? indexByFd[fd]! : 0) - 1;
    if (i < 0 || i >= passCount || passFds[i] !== fd) {
      if (passMap.has(fd)) return false;  // a channel added during the wait: a new pass asks it
      continue;
    }
    const wants = passWants[i]!;
    if ((wants & READ_WANTED && revents & (POLLIN | HANGUP)) || (wants & WRITE_WANTED && revents & (POLLOUT | FAILED)) || revents & POLLPRI) return false;
  }
  return true;
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
  woken = false;
  passUsePoll = req.usePoll;
  passImmediate = false;
  passCount = 0;
  passDeadline = Infinity;
  try {
    setInPass(true);  // readable()/writable() run inside the pass
    req.map.forEach(collect);
  } catch (err) {
    collectingOnly = false;
    releaseChannels();
    nNow = 0;
    nTimed = 0;
    setInPass(false);
    req.done(err);
    next();
    return;
  } finally {
    setInPass(false);
  }
  if (queue.length > 0) watchQueued();
  let timeout = passImmediate ? 0 : req.timeout;
  if (passDeadline !== Infinity && timeout !== 0) {
    // the wait ends for the nearest idle deadline (whole milliseconds, not before it)
    const left = Math.max(0, Math.ceil(passDeadline - clock())) / 1000;
    if (timeout === null || left < timeout) timeout = left;
  }
  passWaitEnd = timeout === null ? Infinity : clock() + timeout * 1000;
  if (poller.canPollNow && burst < MAX_BURST && (timeout === 0 || lastPassHadEvents)) {
    const count = poller.pollNow();
    if (count > 0 || timeout === 0) {
      burst++;
      finishPass(req, count, poller.currentEvents());
      return;
    }
  }
  waitFor(req, timeout);
}

function waitFor(req: PassRequest, timeout: number | null): void {
  poller.wait(timeout, (count, events) => {
    burst = 0;
    finishPass(req, count, events);
  });
}

function finishPass(req: PassRequest, count: number, events: Int32Array): void {
  if (count > 0 && ignoredOnly(count, events)) {
    // Nothing to call: stop watching those descriptors for the rest of this pass (the next pass
    // asks again) and wait for what is left of the timeout, as select() would. But readiness of
    // a queued map's channel ends this pass: that map's pass comes next and finds it.
    let queuedReady = false;
    for (let k = 0; k < count; k++) {
      const fd = events[2 * k]!;
      if (queue.length > 0 && !passMap.has(fd) && inQueuedMap(fd)) queuedReady = true;
      else poller.setInterest(fd, 0);
    }
    const left = passWaitEnd - clock();
    if (!queuedReady && !woken && left > 0) {
      lastPassHadEvents = false;
      waitFor(req, passWaitEnd === Infinity ? null : Math.ceil(left) / 1000);
      return;
    }
    count = 0;
  }
  lastPassHadEvents = count > 0;
  let error: unknown;
  setInPass(true);
  try {
    dispatch(count, events);
  } catch (err) {
    error = err ?? new Error("a handler threw a nullish value");
  }
  try {
    flushDeferred();  // the output handlers left for the pass end (pass.ts)
  } catch (err) {
    error ??= err ?? new Error("a handler threw a nullish value");
  } finally {
    setInPass(false);
  }
  req.done(error);
  next();
}

function next(): void {
  if (poller.isWaiting() || queue.length === 0) return;
  startPass(queue.shift()!);
}

function runPass(req: PassRequest): void {
  // Behind any queued pass: a loop() that asks again as its pass ends must not starve a loop()
  // on another map that has been waiting for its turn.
  if (poller.isWaiting() || inPass() || queue.length > 0) {
    queue.push(req);
    // Passes on other maps wait their turn, and the pass that waits must end when one of them has
    // work: their channels' interest joins its wait; a pass that must not wait (timeout 0), or a
    // channel ready without the kernel, ends the wait now.
    if (poller.isWaiting() && req.map !== passMap) {
      const waitEnd = passWaitEnd;
      passImmediate = false;
      passDeadline = Infinity;
      // (a changed mask reaches the kernel only with the next wait: end this one for it too)
      if (!watchMap(req) || req.timeout === 0 || passImmediate || passDeadline < waitEnd || poller.hasChanges()) endWait();
    }
  } else startPass(req);
}

// Other maps' passes queued behind this one (several loop() calls, one per map): their channels'
// interest is registered too, so their readiness ends this pass's wait (finishPass); without it a
// loop on one map would wait out the other's timeout. Their handlers run in their own pass.
let collectingOnly = false;

function watchMap(q: PassRequest): boolean {
  const usePoll = passUsePoll;
  passUsePoll = q.usePoll;
  collectingOnly = true;
  setInPass(true);
  try {
    q.map.forEach(collect);
    return true;
  } catch (err) {
    // Its readable()/writable() threw: that pass fails, as it would have when it ran.
    queue.splice(queue.indexOf(q), 1);
    q.done(err);
    return false;
  } finally {
    collectingOnly = false;
    setInPass(false);
    passUsePoll = usePoll;
  }
}

function watchQueued(): void {
  for (let k = 0; k < queue.length; k++) {
    const q = queue[k]!;
    if (q.map !== passMap && !watchMap(q)) k--;
  }
}

function inQueuedMap(fd: number): boolean {
  for (let k = 0; k < queue.length; k++) if (queue[k]!.map.has(fd)) return true;
  return false;
}

/** A nudge from outside a pass (a timer, a promise): the pending wait ends so the next pass sees the change. */
export function wake(): void {
  if (!inPass()) endWait();
}

// A wait asked to end (wake(), a stopped loop, another map's work) ends the pass even when what
// arrives first is readiness the pass ignores.
let woken = false;

function endWait(): void {
  if (!poller.isWaiting()) return;
  woken = true;
  poller.wake();
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

// `| undefined` everywhere: an option given as undefined means the default, also for callers
// compiled with exactOptionalPropertyTypes.
export interface LoopOptions {
  /** Seconds each pass waits at most (default 30; null waits without limit). */
  timeout?: number | null | undefined;
  /** Poll-style passes instead of select-style ones. */
  usePoll?: boolean | undefined;
  /** The channels to poll (default socketMap). */
  map?: SocketMap | undefined;
  /** Stop after this many passes (null: until the map is empty). */
  count?: number | null | undefined;
  /**
   * Stops the loop: once it aborts, loop() resolves when the pass under way ends (a pending wait
   * ends at once), or without a pass when it is already aborted. Channels are not closed: they stay
   * in the map, for a later loop() or closeAll().
   */
  signal?: AbortSignal | undefined;
}

/** Runs passes until the map is empty, `count` passes are done, or `signal` aborts. */
export function loop(options: LoopOptions = {}): Promise<void> {
  try {
    if (typeof options !== "object" || options === null) throw new TypeError("loop() takes an options object");
    const timeout = checkTimeout(options.timeout, 30);
    const map = checkMap(options.map);
    const usePoll = options.usePoll ?? false;
    if (typeof usePoll !== "boolean") throw new TypeError("usePoll must be a boolean");
    let count = options.count ?? null;
    if (count !== null && (typeof count !== "number" || Number.isNaN(count))) throw new TypeError("count must be a number or null");
    const signal = checkSignal(options.signal);
    return new Promise((resolve, reject) => {
      let req: PassRequest | null = null;
      // One listener per loop() (EventTarget would merge a shared one): a pass still queued behind
      // another loop's is dropped, a waiting one ends its wait.
      const onAbort = (): void => {
        const queued = req === null ? -1 : queue.indexOf(req);
        if (queued < 0) return wake();
        queue.splice(queued, 1);
        step();
      };
      signal?.addEventListener("abort", onAbort);
      const step = (err?: unknown): void => {
        if (err !== undefined || map.size === 0 || (count !== null && count <= 0) || signal?.aborted === true) {
          signal?.removeEventListener("abort", onAbort);
          return err !== undefined ? reject(err) : resolve();
        }
        if (count !== null) count--;
        runPass((req = { map, timeout, usePoll, done: step }));
      };
      step();
    });
  } catch (err) {
    return Promise.reject(err);
  }
}

function checkSignal(signal: unknown): AbortSignal | undefined {
  if (signal === undefined) return undefined;
  // As Node's own APIs: anything with AbortSignal's shape (a signal from another realm is one too).
  const s = signal as Partial<AbortSignal> | null;
  if (typeof s !== "object" || s === null || typeof s.aborted !== "boolean" || typeof s.addEventListener !== "function") {
    throw new TypeError("signal must be an AbortSignal");
  }
  return signal as AbortSignal;
}

/** Closes every channel of `map` (default socketMap) and empties it. */
export function closeAll(map?: SocketMap, ignoreAll = false): void {
  const m = checkMap(map);
  for (const obj of [...m.values()]) {
    try {
      obj.close?.();
    } catch (err) {
      if (isReraised(err)) throw err;
      if (isBadDescriptor(err)) continue;
      if (!ignoreAll) throw err;
    }
  }
  m.clear();
}
