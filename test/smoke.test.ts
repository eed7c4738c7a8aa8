import { test } from "node:test";
import assert from "node:assert/strict";
import { Dispatcher, DispatcherWithSend, loop, type Socket, socketMap } from "../src/index.js";
import { POLLERS } from "./helpers/pollers.js";

for (const mode of POLLERS) {
  test(`echo round trip of 300 kB, ${mode.name}`, { timeout: 10_000 }, async () => {
    class EchoHandler extends DispatcherWithSend {
      override handleRead() { const d = this.recv(8192); if (d.length) this.send(d); }
    }
    class EchoServer extends Dispatcher {
      constructor() { super(); this.createSocket(); this.setReuseAddr(); this.bind(["127.0.0.1", 0]); this.listen(5); }
      override handleAccepted(sock: Socket) { new EchoHandler(sock); }
    }
    const server = new EchoServer();
    const port = (server.socket as Socket).getsockname()[1] as number;
    const message = Buffer.alloc(300_000, 7);
    let got = Buffer.alloc(0);
    class Client extends Dispatcher {
      pending = message;
      constructor() { super(); this.createSocket(); this.connect(["localhost", port]); }
      override handleConnect() {}
      override writable() { return this.pending.length > 0; }
      override handleWrite() { this.pending = this.pending.subarray(this.send(this.pending)); }
      override handleRead() {
        got = Buffer.concat([got, this.recv(65536)]);
        if (got.length >= message.length) { this.close(); server.close(); }
      }
      override handleClose() { this.close(); }
    }
    new Client();
    await loop({ timeout: 1, usePoll: mode.usePoll });
    assert.equal(socketMap.size, 0);
    assert.ok(got.equals(message));
  });
}
