// The JavaScript side of the native poller: interest masks per descriptor, sent to the addon only
// when they change, and one harvest per libuv turn. One poller per thread (the addon keeps one per
// Node environment, so Worker threads each have their own).
import { binding } from "./native.js";
import { POLLNVAL } from "./constants.js";

type Harvest = (count: number, events: Int32Array) => void;

let interest = new Int32Array(1024);  // the mask the addon watches, by fd
let changes = new Int32Array(256);    // [fd, mask] pairs to send with the next wait
let nchanges = 0;
let onHarvest: Harvest | null = null;
let events: Int32Array = new Int32Array(0);

// A descriptor the addon could not watch has no watch: forget its mask too.
function forgetInvalid(count: number): void {
  for (let i = 0; i < count; i++) if (events[2 * i + 1]! & POLLNVAL) interest[events[2 * i]!] = 0;
}

/** "epoll" (Linux: one epoll set, readiness also without a libuv turn) or "uv" (a uv_poll_t per fd). */
export const backend: string = binding.poller.init((count, harvested) => {
  const deliver = onHarvest;
  onHarvest = null;
  events = harvested;
  forgetInvalid(count);
  deliver?.(count, harvested);
});
// The array pollNow() writes into from the start (a pass can find readiness before any harvest
// was delivered); pollNow() says when it is replaced.
events = binding.poller.events();

/**
 * Throws RangeError for a number that no descriptor can have (beyond RLIMIT_NOFILE and not open):
 * tables indexed by descriptor must not grow to its size. Cheap below the limit.
 */
export function checkFd(fd: number): void {
  if (fd >= 0 && fd < fdLimit) return;
  binding.poller.checkFd(fd);
  if (fd >= fdLimit) fdLimit = fd + 1;  // an open descriptor above a limit lowered since
}
let fdLimit = 1024;

/** Asks for `mask` (POLLIN | POLLOUT | POLLPRI) on `fd` from the next wait on. */
export function setInterest(fd: number, mask: number): void {
  if (fd >= interest.length) {
    checkFd(fd);
    const grown = new Int32Array(Math.max(fd + 1, interest.length * 2));
    grown.set(interest);
    interest = grown;
  }
  if (interest[fd] === mask) return;
  interest[fd] = mask;
  if (2 * nchanges + 2 > changes.length) {
    const grown = new Int32Array(changes.length * 2);
    grown.set(changes);
    changes = grown;
  }
  changes[2 * nchanges] = fd;
  changes[2 * nchanges + 1] = mask;
  nchanges++;
}

/** True when masks changed since the last wait (they reach the kernel with the next one). */
export function hasChanges(): boolean {
  return nchanges > 0;
}

/** True while a wait is pending (its harvest has not been delivered yet). */
export function isWaiting(): boolean {
  return onHarvest !== null;
}

/**
 * Waits up to `timeout` seconds (null: no limit) for readiness of the descriptors with an
 * interest, then calls `harvest` once with every [fd, revents] pair of that libuv turn.
 */
export function wait(timeout: number | null, harvest: Harvest): void {
  if (onHarvest !== null) throw new Error("poller: a wait is already pending");
  const ms = timeout === null ? -1 : timeout * 1000;
  binding.poller.wait(ms, changes, nchanges);
  nchanges = 0;
  onHarvest = harvest;
}

/** True where pollNow() can report readiness without a turn of Node's loop. */
export const canPollNow = backend === "epoll";

/**
 * Sends the changed masks and returns how many [fd, revents] pairs are ready right now, in
 * `currentEvents()`; -1 where the backend cannot tell without a turn of Node's loop.
 */
export function pollNow(): number {
  let n = binding.poller.pollNow(changes, nchanges);
  nchanges = 0;
  if (n <= -2) {  // the array was replaced (grown, or detached by someone): take the new one
    n = -2 - n;
    events = binding.poller.events();
  }
  if (n > 0) forgetInvalid(n);
  return n;
}

/** The array the last harvest was written to. */
export function currentEvents(): Int32Array {
  return events;
}

/** Ends a pending wait at the next turn of Node's loop (no-op when nothing waits). */
export function wake(): void {
  if (onHarvest !== null) binding.poller.wake();
}

// Drops `fd` from the masks and from the changes not sent yet: its watch is going away, and a queued
// change must not bring it back (a closed number is reused soon).
function dropFd(fd: number): void {
  if (fd < interest.length) interest[fd] = 0;
  let k = 0;
  for (let i = 0; i < nchanges; i++) {
    if (changes[2 * i] === fd) continue;
    changes[2 * k] = changes[2 * i]!;
    changes[2 * k + 1] = changes[2 * i + 1]!;
    k++;
  }
  nchanges = k;
}

/** Closes a descriptor: its watch is stopped and released first, then the fd is closed. */
export function closeFd(fd: number): number {
  dropFd(fd);
  return binding.close(fd);
}

/** Stops watching a descriptor that stays open (given up by Socket.detach()). */
export function forgetFd(fd: number): void {
  dropFd(fd);
  binding.poller.forget(fd);
}

/** How many descriptors the addon has a poll handle for. */
export function watching(): number {
  return binding.poller.watching();
}
