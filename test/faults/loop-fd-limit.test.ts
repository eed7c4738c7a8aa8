// A socket map key far above any descriptor the process can have: the pass rejects with a
// RangeError and no table indexed by descriptor grows to its size. Run in a child process, so that
// a regression (gigabytes allocated, or an abort) fails the test and not the runner.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { LIBRARY_URL, runNode } from "../helpers/child-process.js";
import { POLLERS } from "../helpers/pollers.js";

const SCRIPT = `
  import { loop, socketpair } from ${JSON.stringify(LIBRARY_URL)};
  const usePoll = process.argv.includes("--poll");
  import { readFileSync } from "node:fs";
  const rss = () => Number(/VmRSS:\\s+(\\d+)/.exec(readFileSync("/proc/self/status", "latin1"))[1]) / 1024;
  const probe = { readable: () => true, writable: () => false, handleReadEvent() {}, handleWriteEvent() {},
    handleExptEvent() {}, handleClose() {}, handleError(e) { throw e; } };
  const out = [];
  const before = rss();
  for (const fd of [500_000_000, 2 ** 31 - 1]) {
    const map = new Map([[fd, probe]]);
    try {
      await loop({ timeout: 0, count: 1, map, usePoll });
      out.push(fd + " accepted");
    } catch (err) {
      out.push(fd + " " + err.name + ": " + err.message);
    }
  }
  // an ordinary descriptor still works afterwards
  const [a, b] = socketpair();
  let reads = 0;
  b.send(Buffer.from("x"));
  const map = new Map([[a.fileno(), { ...probe, handleReadEvent() { reads++; a.recv(10); map.clear(); } }]]);
  await loop({ timeout: 5, map, usePoll });
  a.close(); b.close();
  console.log(JSON.stringify({ out, reads, grewMB: rss() - before }));
`;

describe("socket map keys above the descriptor limit", () => {
  for (const mode of POLLERS) {
    test(`are refused with a RangeError, without a table of their size, ${mode.name}`, { timeout: 60_000 }, async () => {
      const r = await runNode(SCRIPT, { args: mode.usePoll ? ["--poll"] : [], timeoutMs: 50_000, nodeFlags: ["--max-old-space-size=256"] });
      assert.equal(r.signal, null, `the child died: ${r.signal} ${r.stderr}`);
      assert.equal(r.code, 0, r.stderr);
      const res = JSON.parse(r.stdout) as { out: string[]; reads: number; grewMB: number };
      for (const line of res.out) assert.match(line, /RangeError: .*above the descriptor limit/, line);
      assert.equal(res.reads, 1);
      assert.ok(res.grewMB < 64, `RSS grew by ${res.grewMB.toFixed(1)} MB`);
    });
  }
});
