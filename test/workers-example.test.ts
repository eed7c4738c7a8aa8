// examples/multicore-echo.ts run as a program: N workers on one port, connections echoed by
// both, SIGTERM and SIGINT end it (exit 0, nothing left running).
import { after, test } from "node:test";
import assert from "node:assert/strict";
import net from "node:net";
import path from "node:path";
import { EXAMPLES, start, stopAll } from "./helpers/cli-process.js";

after(stopAll);

function echo(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let got = "";
    const s = net.connect({ host: "127.0.0.1", port }, () => s.end(text));
    s.setEncoding("utf8").on("data", (c: string) => { got += c; });
    s.on("error", reject).on("close", () => resolve(got));
  });
}

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  test(`multicore-echo.js with 2 workers: 40 connections echoed by both workers; ${signal} ends it`, { timeout: 30_000 }, async () => {
    const proc = start(process.execPath, [path.join(EXAMPLES, "multicore-echo.js"), "127.0.0.1", "0", "2"], { timeoutMs: 25_000 });
    const m = await proc.waitFor(/listening on 127\.0\.0\.1:(\d+) with 2 workers/);
    const port = Number(m[1]);
    for (let round = 0; round < 2; round++) {
      const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => echo(port, `message ${round}.${i}`)));
      assert.deepEqual(replies, Array.from({ length: 20 }, (_, i) => `message ${round}.${i}`));
    }
    const exit = await proc.stop(signal);
    assert.equal(exit.code, 0);
    assert.equal(exit.signal, null);
    const lines = exit.stdout.match(/^\[worker \d\] Incoming connection from 127\.0\.0\.1:\d+$/gm) ?? [];
    assert.equal(lines.length, 40);
    assert.ok(lines.some((l) => l.startsWith("[worker 1]")) && lines.some((l) => l.startsWith("[worker 2]")), "both workers took connections");
  });
}
