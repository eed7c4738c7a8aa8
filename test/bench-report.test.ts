// The benchmark driver's bookkeeping (bench/): the ABAB order of the servers within a round, the
// spread flag past 15 %, the --only-*/--no-* options with optional rows, redis-benchmark's CSV.
import { test } from "node:test";
import assert from "node:assert/strict";
import { roundOrder } from "../bench/echo.js";
import { parseOptions } from "../bench/options.js";
import { parseCsv } from "../bench/redis.js";
import { flagged, spreadLabel, spreadOf } from "../bench/report.js";

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
