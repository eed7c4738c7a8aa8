// The accepting Dispatcher every server on this library shares: 127.0.0.1:PORT, SO_REUSEADDR, the
// backlog of every other server here (1024), and `onAccepted` for each connection.
import { Dispatcher, type Socket } from "../../src/index.js";

export class Listener extends Dispatcher {
  constructor(port: number, readonly onAccepted: (sock: Socket) => void) {
    super();
    this.createSocket();
    this.setReuseAddr();
    this.bind(["127.0.0.1", port]);
    this.listen(1024);
  }

  override handleAccepted(sock: Socket): void {
    this.onAccepted(sock);
  }
}
