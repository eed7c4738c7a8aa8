// Echo server on this library, in the design of its examples: one DispatcherWithSend per
// connection echoing what recv(8192) returns, created by an accepting Dispatcher.
//
//   node dist/bench/servers/asyncore-echo.js PORT [--poll]
//
// --poll runs the loop with { usePoll: true } (poll-style passes instead of select-style ones).
import { Dispatcher, DispatcherWithSend, loop, Socket, type Address } from "../../src/index.js";

class EchoHandler extends DispatcherWithSend {
  override handleRead(): void {
    const data = this.recv(8192);
    if (data.length) this.send(data);
  }
}

class EchoServer extends Dispatcher {
  constructor(host: string, port: number) {
    super();
    this.createSocket();
    this.setReuseAddr();
    this.bind([host, port]);
    this.listen(1024); // the same backlog as every other server here
  }

  override handleAccepted(sock: Socket, _addr: Address): void {
    new EchoHandler(sock);
  }
}

const port = Number(process.argv[2]);
const usePoll = process.argv.includes("--poll");
new EchoServer("127.0.0.1", port);
await loop({ usePoll });
