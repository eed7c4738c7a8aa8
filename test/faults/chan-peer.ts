// What the chan-* fault tests do to a peer socket.
import { SOL_SOCKET, SO_LINGER, type Socket } from "../../src/index.js";

/** Closes `sock` with a reset (SO_LINGER on, 0 seconds) instead of a FIN. */
export function resetClose(sock: Socket): void {
  const linger = Buffer.alloc(8);
  linger.writeInt32LE(1, 0);
  linger.writeInt32LE(0, 4);
  sock.setsockopt(SOL_SOCKET, SO_LINGER, linger);
  sock.close();
}
