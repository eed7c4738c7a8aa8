// The `npm start` demo: every example at work, on 127.0.0.1 only, in one process.
//
// Run it:  npm start      (or: node dist/examples/demo.js)
//
// It starts the echo server, a small HTTP file server (node:http, serving a temporary directory)
// and the port forwarder in front of it; the servers run in the global socketMap under one
// loop(). Then it runs the echo client and the HTTP client (directly and through the
// forwarder), each in a map of its own with a loop() of its own, prints what happened step by
// step, closes everything and exits 0. Any step that takes more than 10 s ends the demo with
// exit code 1 and a message saying which step it was.
import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { type Address, type SocketMap, closeAll, loop } from "../src/index.js";
import { EchoClient } from "./echo-client.js";
import { EchoServer, formatAddress } from "./echo-server.js";
import { HTTPClient } from "./http-client.js";
import { Forwarder } from "./port-forwarder.js";

const STEP_LIMIT_S = 10;
const HOST = "127.0.0.1";

let step = "starting";
const watchdog = setTimeout(() => {
  console.error(`demo: FAILED: "${step}" took more than ${STEP_LIMIT_S} s`);
  process.exit(1);
}, STEP_LIMIT_S * 1000);

function begin(title: string): void {
  step = title;
  watchdog.refresh();  // each step gets its own STEP_LIMIT_S
  console.log(`\n${title}`);
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(what);
  console.log(`   ok: ${what}`);
}

function portOf(addr: Address): number {
  return typeof addr === "string" ? 0 : addr[1];
}

/** A small file server of Node's own, for the HTTP client to fetch from. */
function startFileServer(dir: string): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    const file = path.join(dir, path.basename(decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname)));
    fs.readFile(file, (err, data) => {
      if (err) {
        res.writeHead(404, { "Content-Type": "text/plain" }).end("not found\n");
      } else {
        res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": data.length }).end(data);
      }
    });
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, HOST, () => resolve(server));
  });
}

/** Fetches `url` with the example HTTPClient in a map of its own. */
async function fetch(url: string): Promise<HTTPClient> {
  const map: SocketMap = new Map();
  const client = new HTTPClient(url, map);
  await loop({ map, timeout: 0.5 });
  return client;
}

const sha256 = (data: Uint8Array): string => crypto.createHash("sha256").update(data).digest("hex");

async function main(): Promise<void> {
  console.log(`asyncore demo: servers and clients on ${HOST}, in one process`);

  begin("1. Files for the HTTP server");
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "asyncore-demo-"));
  const hello = Buffer.from("Hello from the asyncore demo!\n");
  const random = crypto.randomBytes(1024 * 1024);
  fs.writeFileSync(path.join(dir, "hello.txt"), hello);
  fs.writeFileSync(path.join(dir, "random.bin"), random);
  console.log(`   ${dir}: hello.txt (${hello.length} bytes), random.bin (${random.length} bytes, sha256 ${sha256(random).slice(0, 16)}...)`);

  let fileServer: http.Server | null = null;
  try {
    begin("2. Servers");
    const echo = new EchoServer(HOST, 0);
    echo.print = (line) => console.log(`   [echo server] ${line}`);
    console.log(`   echo server (Dispatcher + DispatcherWithSend) listening on ${formatAddress(echo.address)}`);
    fileServer = await startFileServer(dir);
    const httpPort = (fileServer.address() as { port: number }).port;
    console.log(`   HTTP file server (node:http) listening on ${HOST}:${httpPort}`);
    const forwarder = new Forwarder(HOST, 0, HOST, httpPort);
    const forwardPort = portOf(forwarder.address);
    console.log(`   port forwarder listening on ${HOST}:${forwardPort}, forwarding to ${HOST}:${httpPort}`);
    // The servers' loop runs in the background until closeAll() empties the global map.
    const serving = loop({ timeout: 0.5 });

    begin("3. Echo client: two clients in a map of their own send 'abcdefg' and 'hijklmn'");
    const clients: SocketMap = new Map();
    const c1 = new EchoClient([HOST, portOf(echo.address)], Buffer.from("abcdefg"), clients, "c1");
    const c2 = new EchoClient([HOST, portOf(echo.address)], Buffer.from("hijklmn"), clients, "c2");
    for (const c of [c1, c2]) c.print = (line) => console.log(`   [echo client] ${line}`);
    await loop({ map: clients, usePoll: true, timeout: 0.5 });
    check(c1.reply.toString() === "abcdefg" && c2.reply.toString() === "hijklmn", "both messages came back whole");

    begin(`4. HTTP client: GET http://${HOST}:${httpPort}/hello.txt`);
    const direct = await fetch(`http://${HOST}:${httpPort}/hello.txt`);
    console.log(`   HTTP/${direct.httpVersion} ${direct.status} ${direct.reason}, ${direct.bodyLength} bytes: ${JSON.stringify(direct.body.toString())}`);
    check(direct.error === null && direct.ok && direct.body.equals(hello), "the body is the file");

    begin(`5. HTTP client through the forwarder: GET http://${HOST}:${forwardPort}/random.bin`);
    const forwarded = await fetch(`http://${HOST}:${forwardPort}/random.bin`);
    console.log(`   HTTP/${forwarded.httpVersion} ${forwarded.status} ${forwarded.reason}, ${forwarded.bodyLength} bytes, sha256 ${sha256(forwarded.body).slice(0, 16)}...`);
    check(forwarded.error === null && forwarded.ok && forwarded.body.equals(random), "the body is byte for byte the file");

    begin(`6. HTTP client through the forwarder: GET http://${HOST}:${forwardPort}/missing.txt`);
    const missing = await fetch(`http://${HOST}:${forwardPort}/missing.txt`);
    console.log(`   HTTP/${missing.httpVersion} ${missing.status} ${missing.reason}`);
    check(missing.status === 404, "a missing file is reported as 404");

    begin("7. Closing everything");
    closeAll();
    await serving;
    console.log("   closeAll(): the servers' loop() has resolved");
  } finally {
    await new Promise<void>((resolve) => {
      if (fileServer === null) return resolve();
      fileServer.close(() => resolve());
      fileServer.closeAllConnections();
    });
    fs.rmSync(dir, { recursive: true, force: true });
  }
  clearTimeout(watchdog);
  console.log("\ndemo: every step worked");
}

main().catch((err: unknown) => {
  console.error(`demo: FAILED at "${step}": ${err instanceof Error ? err.message : String(err)}`);
  closeAll(undefined, true);
  process.exit(1);
});
