// A UDP echo server: every datagram goes back to its sender, byte for byte (0 bytes included).
//
// A DatagramDispatcher bound to HOST:PORT reads each datagram with recvfrom() and answers it with
// sendto(). A reply the kernel cannot take at once waits in the dispatcher's queue (in order, up
// to its bound); while the queue is full the server reads no more requests, so the kernel's
// receive buffer holds them, or drops them, as UDP does.
//
// Run it:      node dist/examples/udp-echo.js [HOST] [PORT]          (127.0.0.1 8080; ::1 for IPv6)
//              (or: npx asyncore udp-echo --port 8080)
// Talk to it:  node dist/examples/udp-echo-client.js 127.0.0.1 8080 hello world
//              python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM);
//                          s.sendto(b"hi", ("127.0.0.1", 8080)); print(s.recvfrom(65536))'
import net from "node:net";
import { pathToFileURL } from "node:url";
import { AF_INET, AF_INET6, type Address, DatagramDispatcher, type Socket, type SocketMap, loop } from "../src/index.js";

export class UdpEchoServer extends DatagramDispatcher {
  /** Datagrams answered, and their bytes. */
  datagrams = 0;
  bytes = 0;

  /** Binds host:port (port 0: any free port). `maxDatagram`: longer requests are reported and dropped. */
  constructor(host: string, port: number, map?: SocketMap, maxDatagram?: number) {
    super(null, map);
    this.createSocket(net.isIPv6(host) ? AF_INET6 : AF_INET);
    this.setReuseAddr();
    this.bind([host, port]);
    if (maxDatagram !== undefined) this.maxDatagram = maxDatagram;
  }

  /** The address actually bound (with the real port when it was 0). */
  get address(): Address {
    return (this.socket as Socket).getsockname();
  }

  override handleDatagram(data: Buffer, from: Address): void {
    if (!this.sendto(data, from)) return;  // queue full: dropped (never happens while reads are held back)
    this.datagrams++;
    this.bytes += data.length;
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [host = "127.0.0.1", port = "8080"] = process.argv.slice(2);
  const server = new UdpEchoServer(host, Number(port));
  const where = server.address as readonly [string, number];
  console.error(`udp echo server listening on ${where[0].includes(":") ? `[${where[0]}]` : where[0]}:${where[1]}`);
  await loop();
}
