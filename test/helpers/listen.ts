// A Node server of the tests' own (the remote end of a forwarder, an HTTP server the client
// examples talk to) listening on a free loopback port.
import type net from "node:net";

/** Starts `server` on 127.0.0.1, port 0; resolves with the port the kernel chose. */
export async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as net.AddressInfo).port;
}
