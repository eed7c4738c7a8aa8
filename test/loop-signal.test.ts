// loop({ signal }): an AbortSignal stops the loop the Node way. It resolves when the pass under way
// ends (a pending wait ends at once), or without a pass when already aborted; channels stay open and
// in the map; no listener is left on the signal. In both pass styles (and, through npm test, both
// poller backends).
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { type Socket, type SocketMap, closeAll, loop, socketpair } from "../src/index.js";
import { POLLERS } from "./helpers/pollers.js";
import { ProbeChannel } from "./helpers/probe-channel.js";

const T = { timeout: 10_000 };

/** A map with one channel over a socketpair end, and the peer end to talk to it. */
function setup(): { map: SocketMap; log: string[]; probe: ProbeChannel; peer: Socket; done(): void } {
  const map: SocketMap = new Map();
  const log: string[] = [];
  const [a, peer] = socketpair();
  const probe = new ProbeChannel("a", a, map, log);
  probe.wantWrite = false;  // waits for input: a pass blocks until something arrives
  return { map, log, probe, peer, done: () => { closeAll(map, true); peer.close(); } };
}

/** Runs `fn` with a fresh setup(), closed afterwards whatever happens. */
async function withSetup(fn: (s: ReturnType<typeof setup>) => Promise<void>): Promise<void> {
  const s = setup();
  try {
    await fn(s);
  } finally {
    s.done();
  }
}

/** Starts a loop without a time limit on `s`, aborts it once its pass waits, and awaits it. */
async function abortWhileWaiting(s: ReturnType<typeof setup>, usePoll: boolean, ac = new AbortController()): Promise<AbortSignal> {
  const running = loop({ map: s.map, timeout: null, usePoll, signal: ac.signal });
  while (s.probe.readableCalls === 0) await new Promise((r) => setImmediate(r));
  ac.abort();
  await running;  // without the abort, this never settles (the test would time out)
  return ac.signal;
}

function listeners(signal: AbortSignal): number {
  return getEventListeners(signal, "abort").length;
}

for (const mode of POLLERS) {
  describe(`loop({ signal }), ${mode.name}`, () => {
    test("aborting during a wait without a limit ends the wait and resolves the loop", T, () =>
      withSetup(async (s) => {
        // Once a pass has asked readable() (it is waiting), abort from outside the loop.
        const signal = await abortWhileWaiting(s, mode.usePoll);
        assert.deepEqual(s.log, [], "no handler was called: nothing arrived");
        assert.equal(listeners(signal), 0, "the loop's listener is removed");
      }));

    test("channels are not closed: they stay in the map, and a later loop() serves them", T, () =>
      withSetup(async (s) => {
        await abortWhileWaiting(s, mode.usePoll);
        assert.equal(s.map.get(s.probe.fd), s.probe, "still in the map");
        assert.ok(s.probe.sock.fileno() >= 0, "its socket is open");
        assert.ok(!s.log.includes("a.close"), "handleClose() was not called");
        s.peer.send(Buffer.from("x"));
        await loop({ map: s.map, timeout: 5, usePoll: mode.usePoll, count: 1 });
        assert.deepEqual(s.log, ["a.read"]);
      }));

    test("an already aborted signal: loop() resolves without a pass (readable() is never asked)", T, () =>
      withSetup(async (s) => {
        s.peer.send(Buffer.from("x"));  // input waiting: a pass would read it
        await loop({ map: s.map, timeout: null, usePoll: mode.usePoll, signal: AbortSignal.abort() });
        assert.equal(s.probe.readableCalls, 0);
        assert.deepEqual(s.log, []);
      }));

    test("an abort from a handler: the pass under way ends, and no further pass runs", T, () =>
      withSetup(async (s) => {
        const ac = new AbortController();
        let reads = 0;
        s.probe.hooks.read = () => {
          reads++;
          s.probe.sock.recv(10);
          ac.abort();
          s.peer.send(Buffer.from("more"));  // would make another pass dispatch a read
        };
        s.peer.send(Buffer.from("x"));
        await loop({ map: s.map, timeout: null, usePoll: mode.usePoll, signal: ac.signal });
        assert.equal(reads, 1);
        assert.equal(s.probe.readableCalls, 1, "one pass");
      }));

    test("no listener is left on a signal shared by many loops, whichever way each ends", T, () =>
      withSetup(async (s) => {
        const ac = new AbortController();
        for (let i = 0; i < 50; i++) await loop({ map: s.map, timeout: 0, usePoll: mode.usePoll, count: 1, signal: ac.signal });
        assert.equal(listeners(ac.signal), 0, "after loops that ended by count");
        // Two loops at once on one signal (and two maps): each has its own listener, and both stop,
        // the second although its pass is still queued behind the first's wait (passes run one at a time).
        await withSetup(async (t) => {
          const before = s.probe.readableCalls;
          const both = Promise.all([
            loop({ map: s.map, timeout: null, usePoll: mode.usePoll, signal: ac.signal }),
            loop({ map: t.map, timeout: null, usePoll: mode.usePoll, signal: ac.signal }),
          ]);
          while (s.probe.readableCalls === before) await new Promise((r) => setImmediate(r));
          assert.equal(listeners(ac.signal), 2);
          ac.abort();
          await both;
          // (its readable() may be asked so that its readiness ends the other pass's wait; no handler ran)
          assert.deepEqual(t.log, [], "the queued pass was dropped, not run");
          assert.equal(listeners(ac.signal), 0);
        });
        // A loop that rejects (a handler error the channel rethrows) removes its listener too.
        const ac2 = new AbortController();
        s.probe.hooks.read = () => { throw new Error("boom"); };
        s.peer.send(Buffer.from("x"));
        await assert.rejects(loop({ map: s.map, timeout: null, usePoll: mode.usePoll, signal: ac2.signal }), /boom/);
        assert.equal(listeners(ac2.signal), 0);
      }));
  });
}

describe("loop({ signal }) argument checks", () => {
  test("a signal that is not an AbortSignal rejects with TypeError", T, async () => {
    for (const bad of [null, 1, "abort", {}, { aborted: false }]) {
      await assert.rejects(loop({ map: new Map(), signal: bad as unknown as AbortSignal }), TypeError);
    }
  });

  test("an empty map still resolves at once (the signal changes nothing there)", T, async () => {
    const ac = new AbortController();
    await loop({ map: new Map(), signal: ac.signal });
    assert.equal(listeners(ac.signal), 0);
  });
});
