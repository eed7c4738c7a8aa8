// Echo server on this library, in the design of its examples: one DispatcherWithSend per
// connection echoing what recv(8192) returns, created by an accepting Dispatcher.
//
//   node dist/bench/servers/asyncore-echo.js PORT [--poll]
//
// --poll runs the loop with { usePoll: true } (poll-style passes instead of select-style ones).
import { DispatcherWithSend, loop } from "../../src/index.js";
import { Listener } from "./listener.js";

class EchoHandler extends DispatcherWithSend {
  override handleRead(): void {
    const data = this.recv(8192);
    if (data.length) this.send(data);
  }
}

const port = Number(process.argv[2]);
const usePoll = process.argv.includes("--poll");
new Listener(port, (sock) => new EchoHandler(sock));
await loop({ usePoll });
