// The benchmark driver's bookkeeping (bench/): the ABAB order of the servers within a round, the
// spread flag past 15 %, the --only-*/--no-* options with optional rows, redis-benchmark's CSV, and
// the port forwarder and redis tables (with c-forward, and from reports made before it was measured).
import { test } from "node:test";
import assert from "node:assert/strict";
import { roundOrder, type EchoSample } from "../bench/echo.js";
import type { ForwardReport } from "../bench/forward.js";
import { parseOptions } from "../bench/options.js";
import { parseCsv, redisTable, type RedisReport, type RedisSample } from "../bench/redis.js";
import { flagged, forwardTable, renderTable, roundRatios, spreadLabel, spreadOf } from "../bench/report.js";

test("each round runs every server of a cell in turn, the order reversed every other round", () => {
  const groups = [["a1", "b1", "c1"], ["a2", "b2", "c2"]];
  assert.deepEqual(roundOrder(groups, 1), ["a1", "b1", "c1", "a2", "b2", "c2"]);
  assert.deepEqual(roundOrder(groups, 2), ["c1", "b1", "a1", "c2", "b2", "a2"]);
  assert.deepEqual(roundOrder(groups, 3), roundOrder(groups, 1));
  assert.deepEqual(groups[0], ["a1", "b1", "c1"], "the groups are not reordered in place");
});

test("spread is (max - min) / median; past 15 % it is flagged", () => {
  assert.deepEqual(spreadOf([10, 11, 12]), { min: 10, max: 12, spread: 2 / 11 });
  assert.equal(spreadLabel([10, 11, 12]), "18% ⚠");
  assert.equal(spreadLabel([10, 10.5, 11]), "10%");
  assert.equal(spreadLabel([7]), "–", "one round has no spread");
  assert.equal(flagged([10, 10.5], [1, 2, 3]), true);
  assert.equal(flagged([10, 10.5], [5]), false);
});

test("--only-* selects parts and optional rows; --no-NAME drops a row; --quick still works", () => {
  const all = parseOptions([], {}, ["redis", "smtp"]);
  assert.equal(all.rounds, 5);
  assert.deepEqual([all.echo, all.scale, all.forward, all.tls], [true, true, true, true]);
  assert.deepEqual([...all.rows], ["redis", "smtp"]);
  const only = parseOptions(["--quick", "--only-redis", "--only-tls"], {}, ["redis", "smtp"]);
  assert.equal(only.rounds, 1);
  assert.deepEqual([only.echo, only.scale, only.forward, only.tls], [false, false, false, true]);
  assert.deepEqual([...only.rows], ["redis"]);
  assert.deepEqual([...parseOptions(["--no-smtp"], {}, ["redis", "smtp"]).rows], ["redis"]);
  assert.throws(() => parseOptions(["--only-nothing"], {}, ["redis"]), /unknown option --only-nothing/);
});

test("redis-benchmark --csv: requests per second by test", () => {
  const csv = [
    '"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"',
    '"SET","49975.01","0.487","0.096","0.455","0.719","1.015","3.479"',
    '"GET","51203.28","0.474","0.088","0.447","0.703","0.975","2.807"',
  ].join("\n");
  assert.deepEqual(parseCsv(csv), { SET: 49975.01, GET: 51203.28 });
  assert.deepEqual(parseCsv("garbage"), {});
});

test("ratios are taken within each round when the rounds pair up, else between medians", () => {
  assert.deepEqual(roundRatios([2, 6], [1, 2]), [2, 3]);
  assert.deepEqual(roundRatios([2, 6, 4], [1, 2]), [4 / 1.5]);
  assert.deepEqual(roundRatios([], [1]), []);
});

/** A sample of `mibps` MiB/s at 100 KiB (10 req per MiB), with `cpu` µs/req. */
const sample = (mibps: number, cpu: number): EchoSample => ({
  rps: mibps * 10, mibps, p50: 1000 / mibps, p99: 2000 / mibps, cpuPerReq: cpu, clientCpuPerReq: 1, otherLoad: 0,
});
const byName = (rows: string[][]): Map<string, string[]> => new Map(rows.map((r) => [r[0]!, r]));

test("the forwarder table: ours and c-forward, each splicing and copying, against direct and against each other", () => {
  const f: ForwardReport = {
    skipped: null,
    direct: [sample(1000, 10), sample(2000, 10)],
    forwarded: [sample(400, 40), sample(800, 40)],
    copied: [sample(450, 60), sample(900, 60)],
    cSplice: [sample(500, 20), sample(1000, 20)],
    cCopy: [sample(300, 30), sample(600, 30)],
    errors: [],
  };
  const t = forwardTable(f);
  assert.deepEqual(t.rows.map((r) => r[0]), [
    "direct to c-epoll", "through our forwarder", "our forwarder, copying (--no-splice)", "through c-forward (splice)", "c-forward, copying (--copy)",
    "ours ÷ direct", "ours copying ÷ direct", "c-forward ÷ direct", "c-forward copying ÷ direct", "ours ÷ c-forward (splice)", "ours ÷ c-forward (copying)",
  ]);
  const rows = byName(t.rows);
  assert.equal(rows.get("through c-forward (splice)")![1], "750");
  assert.equal(rows.get("through c-forward (splice)")![7], "20.0 (c-forward)");
  assert.equal(rows.get("c-forward ÷ direct")![1], "0.50×");
  assert.equal(rows.get("c-forward copying ÷ direct")![1], "0.30×");
  assert.equal(rows.get("c-forward ÷ direct")![7], "–", "a direct run's CPU is the echo server's: no CPU ratio");
  assert.deepEqual(rows.get("ours ÷ c-forward (splice)")!.slice(1, 3), ["0.80×", "0.80×–0.80×"]);
  assert.equal(rows.get("ours ÷ c-forward (splice)")![7], "2.00×");
  assert.equal(rows.get("ours ÷ c-forward (copying)")![1], "1.50×");
  for (const r of t.rows) assert.equal(r.length, t.headers.length);
  assert.match(renderTable(t, "md"), /\| ours ÷ c-forward \(splice\) \| 0\.80× \|/);
});

test("a forwarder report from before c-forward (and --no-splice) renders the rows it has", () => {
  const old = { skipped: null, direct: [sample(1000, 10)], forwarded: [sample(400, 40)], errors: [] } as ForwardReport;
  assert.deepEqual(forwardTable(old).rows.map((r) => r[0]), ["direct to c-epoll", "through our forwarder", "ours ÷ direct"]);
  const noC = { ...old, copied: [sample(450, 60)], cSplice: [], cCopy: [] };
  assert.deepEqual(forwardTable(noC).rows.map((r) => r[0]), [
    "direct to c-epoll", "through our forwarder", "our forwarder, copying (--no-splice)", "ours ÷ direct", "ours copying ÷ direct",
  ]);
  assert.equal(forwardTable({ ...old, forwarded: [] }).rows[1]![1], "failed");
});

const redisSample = (set: number, get: number, cpu: number): RedisSample => ({ rps: { SET: set, GET: get }, cpuPerReq: cpu });

test("the redis table: ours and c-forward against direct, and ours ÷ c-forward", () => {
  const r: RedisReport = {
    skipped: null,
    cells: [
      {
        pipeline: 1,
        direct: [redisSample(100_000, 100_000, NaN), redisSample(80_000, 100_000, NaN)],
        forwarded: [redisSample(60_000, 50_000, 10), redisSample(48_000, 50_000, 12)],
        cForward: [redisSample(50_000, 40_000, 4), redisSample(40_000, 40_000, 4)],
      },
      { pipeline: 16, direct: [], forwarded: [], cForward: [] },
    ],
    errors: [],
  };
  const t = redisTable(r);
  const col = (name: string): number => t.headers.indexOf(name);
  const set = t.rows[0]!;
  assert.equal(set[col("c-forward req/s")], "45,000");
  assert.equal(set[col("c-forward ÷ direct")], "0.50×");
  assert.equal(set[col("ours ÷ direct")], "0.60×");
  assert.equal(set[col("ours ÷ c-forward")], "1.20×");
  assert.equal(set[col("ours CPU µs/req")], "11.00");
  assert.equal(set[col("c-forward CPU µs/req")], "4.00");
  assert.equal(t.rows[1]![col("ours ÷ c-forward")], "1.25×");
  assert.deepEqual(t.rows[2]!.slice(0, 3), ["SET", "16", "failed"]);
  for (const row of t.rows) assert.equal(row.length, t.headers.length);
});

test("a redis report from before c-forward renders with dashes in its columns", () => {
  const old = {
    skipped: null,
    cells: [{ pipeline: 1, direct: [redisSample(100_000, 100_000, NaN)], forwarded: [redisSample(60_000, 50_000, 10)] }],
    errors: [],
  } as RedisReport;
  const t = redisTable(old);
  const set = t.rows[0]!;
  assert.equal(set[t.headers.indexOf("ours ÷ direct")], "0.60×");
  for (const name of ["c-forward req/s", "c-forward ÷ direct", "ours ÷ c-forward", "c-forward CPU µs/req"]) assert.equal(set[t.headers.indexOf(name)], "–");
  assert.doesNotThrow(() => renderTable(t, "text"));
});
