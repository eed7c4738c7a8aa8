// For the descriptor-limit scenarios: many clients wait on a server that can hold only some of
// them. Each client that has been answered is closed, which frees a descriptor for the next one;
// every client must be answered in the end (none reset or closed unanswered).
import { setTimeout as sleep } from "node:timers/promises";
import type { Peer } from "./hostile-peer.js";

export interface Served {
  /** How many were answered in each wave (between two looks 50 ms apart). */
  waves: number[];
  /** Clients the program closed cleanly (a FIN, no reset) without an answer, when allowed. */
  closedCleanly: number;
}

/**
 * Waits until every peer has received `bytes` bytes, closing each as soon as it has. Throws when
 * a peer ends unanswered (unless `allowCleanClose` and it was a clean close: a FIN, no reset) or
 * nothing moves for `stallMs`.
 */
export async function closeAsServed(peers: readonly Peer[], options: { bytes?: number; stallMs?: number; allowCleanClose?: boolean } = {}): Promise<Served> {
  const bytes = options.bytes ?? 1;
  const stallMs = options.stallMs ?? 10_000;
  const waves: number[] = [];
  let closedCleanly = 0;
  const open = new Set(peers);
  let lastProgress = Date.now();
  while (open.size > 0) {
    const answered = [...open].filter((p) => p.bytes >= bytes);
    for (const p of open) {
      if (p.bytes < bytes && (p.gotEnd || p.socket.destroyed)) {
        if (options.allowCleanClose && p.gotEnd && p.error === null) {
          closedCleanly++;
          open.delete(p);
          p.reset();
          continue;
        }
        throw new Error(`a client ended unanswered (error ${p.error}, end ${p.gotEnd}) after ${peers.length - open.size} of ${peers.length} were answered`);
      }
    }
    if (answered.length > 0) {
      waves.push(answered.length);
      lastProgress = Date.now();
      for (const p of answered) open.delete(p);
      await Promise.all(answered.map((p) => p.close()));
    } else if (Date.now() - lastProgress > stallMs) {
      throw new Error(`${open.size} of ${peers.length} clients still unanswered after ${stallMs} ms without progress`);
    }
    await sleep(50);
  }
  return { waves, closedCleanly };
}
