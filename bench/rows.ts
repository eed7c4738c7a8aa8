// Read by run.ts: the benchmark's optional rows beyond echo, scale, forward and TLS, each run with
// `--only-NAME` (alone) or skipped with `--no-NAME`. To add a row, export from bench/NAME.ts a
// function (ctx: RowContext) => Promise<RowReport> and add ONE line to ROWS below.
import type { Log } from "./echo.js";
import type { Options } from "./options.js";
import type { Table } from "./report.js";
import type { Paths } from "./servers.js";
import { httpRow } from "./http.js";
import { redisRow } from "./redis.js";
import { smtpRow } from "./smtp.js";

export interface RowContext {
  paths: Paths;
  options: Options;
  cpus: number;
  log: Log;
}

/** A row's section of the report. */
export interface RowReport {
  /** The section's heading, e.g. "redis-benchmark through the port forwarder". */
  title: string;
  /** Why the row did not run (a missing peer such as redis-server), or null. */
  skipped: string | null;
  /** Paragraphs for docs/benchmarks.md before the tables: what was measured and how. */
  about: string[];
  tables: Table[];
  /** Failed rounds and other faults: listed under "Problems". */
  problems: string[];
}

export interface Row {
  name: string;
  /** One line for --help. */
  help: string;
  /** A rough upper bound of the row's seconds, for the run's estimate. */
  seconds(o: Options): number;
  run(ctx: RowContext): Promise<RowReport>;
}

export const ROWS: Row[] = [
  { name: "redis", help: "redis-benchmark SET/GET direct, through `asyncore forward` and through c-forward", seconds: (o) => o.rounds * 45, run: redisRow },
  { name: "http", help: "wrk against asyncore http-server, Node's http, Python's http.server", seconds: (o) => Math.min(o.rounds, 3) * 40 + 30, run: httpRow },
  { name: "smtp", help: "20 smtplib clients against asyncore smtp-server and Python's smtpd", seconds: (o) => Math.min(o.rounds, 3) * 15, run: smtpRow },
];
