// The scale probe: one server holding many idle connections on its loop (see idle-conns.c).
import path from "node:path";
import type { Log } from "./echo.js";
import { explain, startServer } from "./echo.js";
import type { Options } from "./options.js";
import { CLIENT_CPU, hardFdLimit, pinned, runJson, withFdLimit } from "./procs.js";
import { waitForQuiet } from "./quiet.js";
import type { Paths, ServerSpec } from "./servers.js";

export interface ScaleResult {
  server: string;
  conns: number;
  /** The numbers idle-conns printed (also those measured before a failure). */
  data: Record<string, number>;
  error: string | null;
}

export interface ScaleReport {
  results: ScaleResult[];
  /** Why fewer connections than asked were used, if so. */
  note: string | null;
}

/** Descriptors beyond the connections themselves: the runtime's own, pipes, the listener. */
const FD_HEADROOM = 256;
const PINGS = 1000;
const STEP_TIMEOUT_S = 60;

/** As many connections as asked, unless the hard descriptor limit forbids it. */
function connsWithinLimit(wanted: number): { conns: number; note: string | null } {
  const hard = hardFdLimit();
  if (wanted + FD_HEADROOM <= hard) return { conns: wanted, note: null };
  const conns = Math.max(0, hard - FD_HEADROOM);
  return { conns, note: `the hard descriptor limit (ulimit -Hn) is ${hard}: probed ${conns} connections instead of ${wanted}` };
}

function numbersOf(json: Record<string, unknown>): Record<string, number> {
  const data: Record<string, number> = {};
  for (const [k, v] of Object.entries(json)) if (typeof v === "number") data[k] = v;
  return data;
}

async function probe(p: Paths, spec: ServerSpec, conns: number): Promise<ScaleResult> {
  const limit = conns + FD_HEADROOM;
  await waitForQuiet();
  const { proc, port } = await startServer(spec.command, undefined, (c) => withFdLimit(limit, c));
  try {
    const args = ["--port", String(port), "--server-pid", String(proc.pid), "--conns", String(conns), "--pings", String(PINGS), "--timeout", String(STEP_TIMEOUT_S)];
    const client = withFdLimit(limit, pinned(CLIENT_CPU, { cmd: path.join(p.work, "idle-conns"), args }));
    // Connect, accept, two ping series and the echo check each have their own bound inside.
    const run = await runJson(client, (4 * STEP_TIMEOUT_S + 60) * 1000);
    if (!run.json) throw new Error(run.timedOut ? "idle-conns did not finish in time" : `idle-conns printed no result: ${run.output.trim().slice(-300)}`);
    const error = typeof run.json.error === "string" ? await explain(new Error(run.json.error), proc) : proc.running ? null : `server ${proc.describeExit()}`;
    return { server: spec.name, conns, data: numbersOf(run.json), error };
  } finally {
    await proc.stop();
  }
}

export async function runScale(p: Paths, o: Options, specs: ServerSpec[], log: Log): Promise<ScaleReport> {
  const { conns, note } = connsWithinLimit(o.scaleConns);
  if (note) log(`scale: ${note}`);
  const results: ScaleResult[] = [];
  if (conns < 1) return { results, note };
  for (const spec of specs) {
    let result: ScaleResult;
    try {
      result = await probe(p, spec, conns);
    } catch (err) {
      result = { server: spec.name, conns, data: {}, error: err instanceof Error ? err.message : String(err) };
    }
    results.push(result);
    const d = result.data;
    log(
      `[scale] ${spec.name.padEnd(11)} ${conns} idle: ` +
        (result.error ? `FAILED: ${result.error}` : `accepted in ${d.accept_ms} ms, ${d.rss_per_conn_bytes} B RSS/conn, ping p50 ${d.base_p50_us} → ${d.idle_p50_us} µs, ${d.echo_ok}/${conns} echoed`),
    );
  }
  return { results, note };
}
