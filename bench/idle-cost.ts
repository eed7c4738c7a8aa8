// What idle timeouts cost a pass: 10,000 channels (5,000 socketpairs, both ends in the map) with no
// idle timeout, then with one each, in both pass styles. Three kinds of pass:
//  - quiet: nothing is ready (the pass asks readable()/writable() and finds nothing);
//  - busy: every channel has a byte waiting, so every channel gets a read event (and a stamp);
//  - expiry: the one pass in which all 10,000 time out and close (handleTimeout's default).
// Run: node dist/bench/idle-cost.js [channels] [passes]. Needs 10,000 descriptors (ulimit -n).
import { performance } from "node:perf_hooks";
import { type SocketMap, Dispatcher, closeAll, poll, poll2, socketpair } from "../src/index.js";

const CHANNELS = Number(process.argv[2] ?? 10_000);
const PASSES = Number(process.argv[3] ?? 200);

class Quiet extends Dispatcher {
  override writable(): boolean {
    return false;
  }
  override handleRead(): void {
    // the byte stays: the channel is ready again next pass
  }
  override handleClose(): void {
    this.close();
  }
}

function build(map: SocketMap): Quiet[] {
  const all: Quiet[] = [];
  for (let i = 0; i < CHANNELS / 2; i++) {
    const [a, b] = socketpair();
    all.push(new Quiet(a, map), new Quiet(b, map));
  }
  return all;
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)]!;
}

async function passes(map: SocketMap, usePoll: boolean, n: number): Promise<number> {
  const pass = usePoll ? poll2 : poll;
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await pass(0, map);
    times.push(performance.now() - t0);
  }
  return median(times);
}

function setTimeouts(all: Quiet[], seconds: number | null): void {
  for (const ch of all) ch.idleTimeout = seconds;
}

async function main(): Promise<void> {
  const rows: string[] = [];
  for (const usePoll of [false, true]) {
    const style = usePoll ? "poll-style" : "select-style";
    const map: SocketMap = new Map();
    const all = build(map);
    await passes(map, usePoll, 20);  // warm up
    // quiet passes, alternating without/with so that drift hits both alike
    const quiet = { none: [] as number[], timed: [] as number[] };
    for (let round = 0; round < 4; round++) {
      setTimeouts(all, null);
      quiet.none.push(await passes(map, usePoll, PASSES / 4));
      setTimeouts(all, 3600);
      quiet.timed.push(await passes(map, usePoll, PASSES / 4));
    }
    // busy passes: one byte waiting on every channel
    setTimeouts(all, null);
    for (const ch of all) ch.send(Buffer.from("x"));
    const busy = { none: [] as number[], timed: [] as number[] };
    for (let round = 0; round < 4; round++) {
      setTimeouts(all, null);
      busy.none.push(await passes(map, usePoll, PASSES / 8));
      setTimeouts(all, 3600);
      busy.timed.push(await passes(map, usePoll, PASSES / 8));
    }
    for (const ch of all) ch.recv(1);
    // expiry: every channel times out in the same pass
    setTimeouts(all, 0.05);
    await new Promise((r) => setTimeout(r, 60));
    const t0 = performance.now();
    await (usePoll ? poll2 : poll)(0, map);
    const expiry = performance.now() - t0;
    const closed = CHANNELS - map.size;
    closeAll(map, true);
    const ms = (x: number): string => `${x.toFixed(2)} ms`;
    rows.push(
      `| ${style} | quiet | ${ms(median(quiet.none))} | ${ms(median(quiet.timed))} |`,
      `| ${style} | busy (every channel reads) | ${ms(median(busy.none))} | ${ms(median(busy.timed))} |`,
      `| ${style} | expiry (${closed} time out and close) | | ${ms(expiry)} |`,
    );
  }
  console.log(`${CHANNELS} channels, median pass time (poll(0) / poll2(0)), node ${process.version}\n`);
  console.log("| pass style | pass | no idle timeout | idleTimeout on every channel |");
  console.log("| --- | --- | --- | --- |");
  for (const r of rows) console.log(r);
}

await main();
