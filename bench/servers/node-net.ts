// Echo server on Node's own net module: every socket piped into itself.
//
//   node dist/bench/servers/node-net.js PORT
//
// Node's defaults are kept (no setNoDelay), as the other servers keep theirs.
import net from "node:net";

const port = Number(process.argv[2]);
const server = net.createServer((socket) => {
  // A client that resets mid-echo must not take the server down.
  socket.on("error", () => socket.destroy());
  socket.pipe(socket);
});
server.listen({ host: "127.0.0.1", port, backlog: 1024 });
