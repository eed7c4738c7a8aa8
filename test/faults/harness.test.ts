// The fault suite's own tools: a crash in a child fails the test (not the runner), the hostile
// peer's reset is a reset, the process probe reads /proc.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { runNode } from "../helpers/child-process.js";
import { connectPeer, listenPeer, resetAllPeers } from "./helpers/hostile-peer.js";
import { crashReason, runInChild } from "./helpers/in-child.js";
import { cpuMs, fdCount, rssKiB } from "./helpers/proc-probe.js";
import { startWithNofile } from "./helpers/emfile.js";

after(resetAllPeers);

describe("fault harness", { timeout: 30_000 }, () => {
  // (Signals that leave no core file behind: SIGKILL stands for any fatal signal.)
  it("a child killed by a signal or failing is reported with its cause, the runner goes on", async () => {
    const r = await runNode("process.kill(process.pid, 'SIGKILL');");
    assert.equal(crashReason(r), "killed by SIGKILL");
    await assert.rejects(runInChild("process.exit(3);"), /did not exit cleanly: exit code 3/);
    await runInChild("process.exitCode = 0;");
  });

  it("reset() sends an RST: the other side sees ECONNRESET, not an end", async () => {
    const server = await listenPeer();
    try {
      const accepted = server.accepted();
      const client = await connectPeer(server.port);
      const other = await accepted;
      await client.send("x");
      await other.waitForBytes(1);
      client.reset();
      const end = await other.waitEnd(5_000);
      assert.equal(end.error, "ECONNRESET");
      assert.equal(end.gotEnd, false);
    } finally {
      await server.close();
    }
  });

  it("the probe reads descriptors, RSS and CPU time from /proc", () => {
    assert.ok(fdCount(process.pid) > 2);
    assert.ok(rssKiB(process.pid) > 1024);
    assert.ok(cpuMs(process.pid) >= 0);
  });

  it("a program started under ulimit -n has that limit", async () => {
    const proc = startWithNofile(37, process.execPath, ["-e", "process.stdout.write(require('node:fs').readFileSync('/proc/self/limits', 'utf8'))"]);
    const exit = await proc.exited;
    assert.match(exit.stdout, /Max open files\s+37\s+37/);
  });
});
