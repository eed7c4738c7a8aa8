// Runs a map's passes until a condition holds (or a deadline: the test then fails, never hangs),
// then closes whatever is left in the map.
import { type SocketMap, loop } from "../../src/loop.js";

export async function runUntil(map: SocketMap, usePoll: boolean, done: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  try {
    while (!done()) {
      if (Date.now() > deadline) throw new Error(`not done within ${ms} ms`);
      await loop({ map, usePoll, timeout: 0.05, count: 1 });
    }
  } finally {
    for (const ch of [...map.values()]) ch.close?.();
  }
}
