// Exit codes on signals (SIGINT: 130 everywhere; SIGTERM: 0 for servers, 143 for clients) and the
// library's own log lines on stderr, never mixed into a command's stdout.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import { CLI, start, startCli, startServer, stopAll } from "../helpers/cli-process.js";

after(stopAll);

/** A server that accepts and never answers; resolves `connected` at its first connection. */
async function silentServer(): Promise<{ server: net.Server; port: number; connected: Promise<void>; held: net.Socket[] }> {
  const held: net.Socket[] = [];
  let onConnection!: () => void;
  const connected = new Promise<void>((resolve) => { onConnection = resolve; });
  const server = net.createServer((sock) => { held.push(sock); sock.on("error", () => {}); onConnection(); });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as net.AddressInfo).port, connected, held };
}

for (const [command, extra] of [["echo-server", []], ["chat-server", []], ["forward", ["-r", "127.0.0.1", "-P", "9"]]] as const) {
  const portOption = command === "forward" ? "-p" : "--port";
  test(`${command}: SIGINT exits 130, SIGTERM exits 0`, { timeout: 20_000 }, async () => {
    for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 0]] as const) {
      const { proc } = await startServer([command, portOption, "0", ...extra], { timeoutMs: 15_000 });
      const r = await proc.stop(signal);
      assert.equal(r.signal, null);
      assert.equal(r.code, code, `${signal}: ${r.stderr}`);
    }
  });
}

test("echo-client and chat-client: SIGINT exits 130, SIGTERM exits 143", { timeout: 30_000 }, async () => {
  for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
    for (const command of ["echo-client", "chat-client"]) {
      const silent = await silentServer();
      try {
        const proc = startCli([command, "--port", String(silent.port)], { timeoutMs: 15_000, keepStdin: true });
        await silent.connected;
        const r = await proc.stop(signal);
        assert.equal(r.signal, null);
        assert.equal(r.code, code, `${command} ${signal}: ${r.stderr}`);
      } finally {
        for (const s of silent.held) s.destroy();
        silent.server.close();
      }
    }
  }
});

test("echo-server at the descriptor limit: the library's log line goes to stderr, stdout keeps only the server's lines", { timeout: 30_000 }, async () => {
  // Node's start-up opens the modules it loads several at a time: the limit leaves room for that
  // (about 28 descriptors), then ~20 stay open, so 30 clients run the server out of descriptors.
  const proc = start("bash", ["-c", `ulimit -n 40 && exec "$@"`, "bash", process.execPath, CLI, "echo-server", "--port", "0"], { timeoutMs: 25_000 });
  const port = Number((await proc.waitFor(/listening on 127\.0\.0\.1:(\d+)/))[1]);
  const socks: net.Socket[] = [];
  for (let i = 0; i < 30; i++) {
    const s = net.connect(port, "127.0.0.1");
    s.on("error", () => {});
    socks.push(s);
  }
  await proc.waitFor(/EMFILE/);
  for (const s of socks) s.destroy();
  const r = await proc.stop("SIGTERM");
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.split("\n").filter((l) => l !== "" && !l.startsWith("Incoming connection from ")), [], "stdout has only the server's own lines");
  assert.match(r.stderr, /^asyncore: echo-server: error: accept EMFILE 127\.0\.0\.1:\d+: .*accepting paused/m);
});
