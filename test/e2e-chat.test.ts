// End to end over loopback, AsyncChat against Python 3.11's asynchat both ways:
// Python asynchat clients on `asyncore chat-server`, and the TypeScript ChatClient (and
// `asyncore chat-client`) on a Python asynchat line server.
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { loop } from "../src/index.js";
import { ChatClient } from "../examples/chat-client.js";
import { pythonSkipReason, runCli, startPython, startServer, stopAll } from "./helpers/cli-process.js";
import { POLLERS } from "./helpers/pollers.js";
import { privateMap } from "./helpers/private-map.js";


const pythonSkip = pythonSkipReason();

after(stopAll);

describe("Python asynchat clients on asyncore chat-server", { skip: pythonSkip ?? false }, () => {
  test("two clients exchange lines; the server prints joins and leaves", { timeout: 30_000 }, async () => {
    const { proc, port } = await startServer(["chat-server", "--port", "0"], { timeoutMs: 25_000 });
    try {
      const r = await startPython("cli_asynchat_chat_client.py", ["127.0.0.1", String(port)], { timeoutMs: 20_000 }).exited;
      assert.equal(r.code, 0, `${r.stderr}\n${r.stdout}`);
      assert.match(r.stdout, /^A: \* welcome 127\.0\.0\.1:(\d+), 1 connected$/m);
      assert.match(r.stdout, /^B: \* welcome 127\.0\.0\.1:(\d+), 2 connected$/m);
      assert.match(r.stdout, /^A: \* 127\.0\.0\.1:\d+ joined$/m);
      assert.match(r.stdout, /^A: <127\.0\.0\.1:\d+> hello from B, over$/m);
      assert.match(r.stdout, /^B: <127\.0\.0\.1:\d+> hello from A$/m);
      await proc.waitForCount(/ left \(\d connected\)$/m, 2, "stdout");
    } finally {
      const r = await proc.stop("SIGTERM");
      assert.equal(r.code, 0, r.stderr);
    }
  });
});

describe("TypeScript AsyncChat client on a Python asynchat line server", { skip: pythonSkip ?? false }, () => {
  for (const mode of POLLERS) {
    test(`ChatClient sends lines and reads the answers, ${mode.name}`, { timeout: 30_000 }, async () => {
      const server = startPython("cli_asynchat_line_server.py", [], { timeoutMs: 25_000 });
      try {
        const port = Number((await server.waitFor(/listening on (\d+)/, "stdout"))[1]);
        const map = privateMap();
        const client = new ChatClient(["127.0.0.1", port], map);
        client.print = () => {};
        const long = "x".repeat(60_000);  // spans several reads on both sides, under the 64 KiB line limit
        const sent = ["hello", "", "mixed Case line", long, "bye"];
        for (const line of sent) client.say(line);
        await loop({ map, timeout: 1, usePoll: mode.usePoll });
        assert.equal(client.error, null);
        assert.deepEqual(client.lines, [
          "got 5 bytes: HELLO",
          "got 0 bytes: ",
          "got 15 bytes: MIXED CASE LINE",
          `got 60000 bytes: ${long.toUpperCase()}`,
          "bye",
        ]);
        assert.equal(map.size, 0, "closed when the server closed");
      } finally {
        await server.stop("SIGKILL");
      }
    });
  }

  for (const mode of POLLERS) {
    test(`ChatClient.endOutput(): every answer is read before the end, ${mode.name}`, { timeout: 30_000 }, async () => {
      const server = startPython("cli_asynchat_line_server.py", [], { timeoutMs: 25_000 });
      try {
        const port = Number((await server.waitFor(/listening on (\d+)/, "stdout"))[1]);
        const map = privateMap();
        const client = new ChatClient(["127.0.0.1", port], map);
        client.print = () => {};
        const line = "y".repeat(1000);
        for (let i = 0; i < 3000; i++) client.say(`${i} ${line}`);
        client.say("bye");
        client.endOutput();
        await loop({ map, timeout: 1, usePoll: mode.usePoll });
        assert.equal(client.error, null);
        assert.equal(client.lines.length, 3001);
        assert.equal(client.lines[2999], `got 1005 bytes: 2999 ${line.toUpperCase()}`);
        assert.equal(client.lines[3000], "bye");
      } finally {
        await server.stop("SIGKILL");
      }
    });
  }

  test("asyncore chat-client: 3 MB of answers after the end of stdin, every line", { timeout: 30_000 }, async () => {
    const server = startPython("cli_asynchat_line_server.py", [], { timeoutMs: 25_000 });
    try {
      const port = Number((await server.waitFor(/listening on (\d+)/, "stdout"))[1]);
      const lines = Array.from({ length: 3000 }, (_, i) => `${i} ${"z".repeat(1000)}`);
      const r = await runCli(["chat-client", "--port", String(port)], { timeoutMs: 20_000, input: `${lines.join("\n")}\n` });
      assert.equal(r.code, 0, r.stderr);
      const got = r.stdout.split("\n");
      assert.equal(got.pop(), "");
      assert.equal(got.length, 3000);
      got.forEach((l, i) => assert.equal(l, `got ${lines[i]!.length} bytes: ${lines[i]!.toUpperCase()}`));
    } finally {
      await server.stop("SIGKILL");
    }
  });

  test("asyncore chat-client: stdin lines out, answers on stdout", { timeout: 30_000 }, async () => {
    const server = startPython("cli_asynchat_line_server.py", [], { timeoutMs: 25_000 });
    try {
      const port = Number((await server.waitFor(/listening on (\d+)/, "stdout"))[1]);
      const r = await runCli(["chat-client", "--port", String(port)], { timeoutMs: 20_000, input: "one\ntwo three\nbye\n" });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, "got 3 bytes: ONE\ngot 9 bytes: TWO THREE\nbye\n");
    } finally {
      await server.stop("SIGKILL");
    }
  });
});
