// For the descriptor-limit scenarios: many clients wait on a server that can hold only some of
// them. Each client that has been answered is closed, which frees a descriptor for the next one;
// every client must be answered in the end (none reset or closed unanswered).
import { setTimeout as sleep } from "node:timers/promises";
import type { Peer } from "./hostile-peer.js";

/**
 * Waits until every peer has received `bytes` bytes, closing each as soon as it has. Resolves with
 * how many were answered in each wave (between two looks 50 ms apart); throws when a peer ends
 * unanswered or nothing moves for `stallMs`.
 */
export async function closeAsServed(peers: readonly Peer[], bytes = 1, stallMs = 10_000): Promise<number[]> {
  const waves: number[] = [];
  const open = new Set(peers);
  let lastProgress = Date.now();
  while (open.size > 0) {
    const answered = [...open].filter((p) => p.bytes >= bytes);
    for (const p of open) {
      if (p.bytes < bytes && (p.gotEnd || p.socket.destroyed)) {
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
  return waves;
}
