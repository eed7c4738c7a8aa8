// TLS echo server on Node's own tls module: every socket piped into itself, with the same
// certificate, protocol and cipher suite as asyncore-tls-echo.ts. Nagle's algorithm is switched
// off as this library does on its sockets: with it on, 100 KiB echoes wait ~40 ms for delayed
// ACKs, which says nothing about the cost of TLS.
//
//   node dist/bench/servers/node-tls.js PORT CERT KEY CIPHERSUITE
import fs from "node:fs";
import tls from "node:tls";

const [port, certFile, keyFile, suite] = process.argv.slice(2);
const server = tls.createServer({
  cert: fs.readFileSync(certFile!), key: fs.readFileSync(keyFile!), minVersion: "TLSv1.3", ciphers: suite!,
}, (socket) => {
  socket.setNoDelay(true);
  socket.on("error", () => socket.destroy());
  socket.pipe(socket);
});
server.on("tlsClientError", () => {});  // the driver's port probe speaks no TLS
server.listen({ host: "127.0.0.1", port: Number(port), backlog: 1024 });
