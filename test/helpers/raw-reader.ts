// A peer that reads with the library's plain recv(), for tests that must tell a reset from a clean
// end. Node's own sockets cannot: when an RST arrives right behind data they have not read yet,
// libuv reads the data short, sees the hang-up and reports a clean end ('end', no 'error').
import { setTimeout as sleep } from "node:timers/promises";
import type { Socket } from "../../src/index.js";
import { binding } from "../../src/native.js";

/** Resolves once `sock` (non-blocking) has input or a hang-up; rejects after `boundMs`. */
export async function waitReadable(sock: Socket, boundMs = 2_000): Promise<void> {
  const deadline = Date.now() + boundMs;
  while ((binding.pollNow(sock.fileno(), 1) & 1) === 0) {
    if (Date.now() > deadline) throw new Error(`nothing to read after ${boundMs} ms`);
    await sleep(1);
  }
}

/** How a stream read with recv() ended: "clean end" (recv() gave 0 bytes) or the error's code. */
export interface RawEnd {
  received: number;
  outcome: string;
}

/** Reads `sock` (non-blocking) to its end: what came, and how it ended. Rejects if it stalls `boundMs`. */
export async function readToEnd(sock: Socket, boundMs = 5_000): Promise<RawEnd> {
  let received = 0;
  for (;;) {
    await waitReadable(sock, boundMs);
    try {
      const data = sock.recv(65536);
      if (data.length === 0) return { received, outcome: "clean end" };
      received += data.length;
    } catch (err) {
      return { received, outcome: (err as { code?: string }).code ?? String(err) };
    }
  }
}
