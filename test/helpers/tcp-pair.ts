// A connected pair of non-blocking TCP sockets over loopback. The accept is retried from the
// event loop (never blocking the process) until the kernel has finished the handshake, which on
// loopback is at once or within a turn or two.
import { setImmediate as nextTurn } from "node:timers/promises";
import { AF_INET, Socket } from "../../src/index.js";

export async function tcpPair(boundMs = 2_000): Promise<[Socket, Socket]> {
  const listener = new Socket(AF_INET);
  let client: Socket | null = null;
  try {
    listener.bind(["127.0.0.1", 0]);
    listener.listen(1);
    const connecting = new Socket(AF_INET);
    client = connecting;
    connecting.connectEx(listener.getsockname());
    const deadline = Date.now() + boundMs;
    for (;;) {
      try {
        const [server] = listener.accept();
        const pair: [Socket, Socket] = [server, connecting];
        client = null;
        return pair;
      } catch (err) {
        if ((err as { code?: string }).code !== "EAGAIN" || Date.now() > deadline) throw err;
      }
      await nextTurn();
    }
  } finally {
    client?.close();
    listener.close();
  }
}
