// The port forwarder against a direct connection: echo-load through a forwarder to the c-epoll
// echo server, and straight to it, at 100 KiB messages. Each round runs four forwarders: ours as
// the command runs it (splice(2) on Linux) and copying through user space (--no-splice, the
// example's recv/send), and the reference forwarder in C (bench/servers/c-forward.c) the same two
// ways, so that what the zero-copy relay buys, and what any forwarding hop costs on this machine
// before any library, are measured in the same rounds.
//
// The echo server and the load generator share the client CPU in every case; the forwarder gets
// the server CPU. So the only difference between the direct number and the others is the hop.
import { existsSync } from "node:fs";
import path from "node:path";
import type { EchoSample, Log } from "./echo.js";
import { explain, roundOrder, runLoad, startServer, toSample } from "./echo.js";
import type { Options } from "./options.js";
import { CLIENT_CPU, SERVER_CPU, type Command } from "./procs.js";
import { waitForQuiet } from "./quiet.js";
import type { Paths, ServerSpec } from "./servers.js";

export const FORWARD_SIZE = 100 * 1024;
export const FORWARD_CONNS = 10;

export interface ForwardReport {
  skipped: string | null;
  direct: EchoSample[];
  forwarded: EchoSample[];
  /** Through the forwarder with --no-splice (absent in reports from before it was measured). */
  copied?: EchoSample[];
  /** Through c-forward, splice(2) (absent in reports from before it was measured). */
  cSplice?: EchoSample[];
  /** Through c-forward --copy, recv/send through a 64 KiB buffer (absent in older reports). */
  cCopy?: EchoSample[];
  errors: string[];
}

/** `asyncore forward` from PORT to 127.0.0.1:targetPort (the command-line tool). */
export function oursForwarder(p: Paths, targetPort: number, extra: string[] = []): (port: number) => Command {
  const cli = path.join(p.root, "dist", "src", "cli", "main.js");
  return (port) => ({
    cmd: process.execPath,
    args: [cli, "forward", "-l", "127.0.0.1", "-p", String(port), "-r", "127.0.0.1", "-P", String(targetPort), ...extra],
  });
}

/** The reference forwarder in C (compiled by build.ts): splice(2), or `--copy`. */
export function cForwarder(p: Paths, targetPort: number, extra: string[] = []): (port: number) => Command {
  return (port) => ({ cmd: path.join(p.work, "c-forward"), args: [String(port), String(targetPort), ...extra] });
}

/** What a round runs: a name for the log and errors, and where its samples go. */
interface Variant {
  name: string;
  /** The forwarder's command line, or null for the direct run. */
  command: ((port: number) => Command) | null;
  samples: (r: ForwardReport) => EchoSample[];
}

/** The direct run first, then the forwarders. */
function variants(p: Paths, targetPort: number): Variant[] {
  return [
    { name: "direct", command: null, samples: (r) => r.direct },
    { name: "forwarded", command: oursForwarder(p, targetPort), samples: (r) => r.forwarded },
    { name: "copying", command: oursForwarder(p, targetPort, ["--no-splice"]), samples: (r) => (r.copied ??= []) },
    { name: "c-forward", command: cForwarder(p, targetPort), samples: (r) => (r.cSplice ??= []) },
    { name: "c-forward --copy", command: cForwarder(p, targetPort, ["--copy"]), samples: (r) => (r.cCopy ??= []) },
  ];
}

/**
 * One round: the direct run and the four forwarded ones, in turn, the order reversed every other
 * round (roundOrder: direct first in odd rounds, last in even ones). The samples are kept only if
 * the whole round succeeds, so that the ratios can pair runs of the same round.
 */
async function oneRound(p: Paths, o: Options, echoServer: ServerSpec, cpus: number, r: ForwardReport, round: number, log: Log): Promise<void> {
  const echo = await startServer(echoServer.command, CLIENT_CPU);
  try {
    const load = { size: FORWARD_SIZE, conns: FORWARD_CONNS, lineMode: false };
    const run = async (v: Variant): Promise<EchoSample> => {
      await waitForQuiet();
      if (!v.command) return toSample(await runLoad(p, o, { ...load, port: echo.port, targetPid: echo.proc.pid }), cpus);
      const fwd = await startServer(v.command, SERVER_CPU);
      try {
        return toSample(await runLoad(p, o, { ...load, port: fwd.port, targetPid: fwd.proc.pid }), cpus);
      } catch (err) {
        throw new Error(`${v.name}: ${await explain(err, fwd.proc)}`);
      } finally {
        await fwd.proc.stop();
      }
    };
    const all = variants(p, echo.port);
    const got = new Map<Variant, EchoSample>();
    for (const v of roundOrder([all], round)) got.set(v, await run(v));
    for (const v of all) v.samples(r).push(got.get(v)!);
    const d = got.get(all[0]!)!.mibps;
    const each = all.slice(1).map((v) => `${v.name} ${got.get(v)!.mibps.toFixed(0)} MiB/s (${(got.get(v)!.mibps / d).toFixed(2)}×)`);
    log(`[forward round ${round}/${o.rounds}] direct ${d.toFixed(0)} MiB/s, ${each.join(", ")}`);
  } finally {
    await echo.proc.stop();
  }
}

export async function runForward(p: Paths, o: Options, echoServer: ServerSpec, cpus: number, log: Log): Promise<ForwardReport> {
  const report: ForwardReport = { skipped: null, direct: [], forwarded: [], copied: [], cSplice: [], cCopy: [], errors: [] };
  if (!existsSync(path.join(p.root, "dist", "src", "cli", "main.js"))) {
    report.skipped = "dist/src/cli/main.js is missing (the command-line tool is not built)";
    log(`[forward] skipped: ${report.skipped}`);
    return report;
  }
  for (let round = 1; round <= o.rounds; round++) {
    try {
      await oneRound(p, o, echoServer, cpus, report, round, log);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      report.errors.push(`round ${round}: ${message}`);
      log(`[forward round ${round}/${o.rounds}] FAILED: ${message}`);
    }
  }
  return report;
}
