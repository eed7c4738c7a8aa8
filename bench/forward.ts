// The port forwarder against a direct connection: echo-load through our forwarder to the c-epoll
// echo server, and straight to it, at 100 KiB messages. The forwarder runs twice per round: as the
// command runs it (splice(2) on Linux) and copying through user space (--no-splice, the example's
// recv/send), so that what the zero-copy relay buys is measured in the same rounds.
//
// The echo server and the load generator share the client CPU in both cases; the forwarder gets
// the server CPU. So the only difference between the two numbers is the forwarding hop.
import { existsSync } from "node:fs";
import path from "node:path";
import type { EchoSample, Log } from "./echo.js";
import { explain, runLoad, startServer, toSample } from "./echo.js";
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
  errors: string[];
}

function forwarderCommand(p: Paths, targetPort: number, extra: string[] = []): (port: number) => Command {
  const cli = path.join(p.root, "dist", "src", "cli", "main.js");
  return (port) => ({
    cmd: process.execPath,
    args: [cli, "forward", "-l", "127.0.0.1", "-p", String(port), "-r", "127.0.0.1", "-P", String(targetPort), ...extra],
  });
}

/** One round: the direct run and the two forwarded ones, in turn (direct first in odd rounds, last in even ones). */
async function oneRound(p: Paths, o: Options, echoServer: ServerSpec, cpus: number, r: ForwardReport, round: number, log: Log): Promise<void> {
  await waitForQuiet();
  const echo = await startServer(echoServer.command, CLIENT_CPU);
  try {
    const load = { size: FORWARD_SIZE, conns: FORWARD_CONNS, lineMode: false };
    const runDirect = async (): Promise<EchoSample> => toSample(await runLoad(p, o, { ...load, port: echo.port, targetPid: echo.proc.pid }), cpus);
    const runForwarded = async (extra: string[] = []): Promise<EchoSample> => {
      await waitForQuiet();
      const fwd = await startServer(forwarderCommand(p, echo.port, extra), SERVER_CPU);
      try {
        return toSample(await runLoad(p, o, { ...load, port: fwd.port, targetPid: fwd.proc.pid }), cpus);
      } catch (err) {
        throw new Error(`forwarded: ${await explain(err, fwd.proc)}`);
      } finally {
        await fwd.proc.stop();
      }
    };
    let direct: EchoSample;
    let forwarded: EchoSample;
    let copied: EchoSample;
    if (round % 2 === 1) {
      direct = await runDirect();
      forwarded = await runForwarded();
      copied = await runForwarded(["--no-splice"]);
    } else {
      copied = await runForwarded(["--no-splice"]);
      forwarded = await runForwarded();
      await waitForQuiet();
      direct = await runDirect();
    }
    r.direct.push(direct);
    r.forwarded.push(forwarded);
    (r.copied ??= []).push(copied);
    const x = (s: EchoSample): string => `${s.mibps.toFixed(0)} MiB/s (${(s.mibps / direct.mibps).toFixed(2)}×)`;
    log(`[forward round ${round}/${o.rounds}] direct ${direct.mibps.toFixed(0)} MiB/s, forwarded ${x(forwarded)}, copying ${x(copied)}`);
  } finally {
    await echo.proc.stop();
  }
}

export async function runForward(p: Paths, o: Options, echoServer: ServerSpec, cpus: number, log: Log): Promise<ForwardReport> {
  const report: ForwardReport = { skipped: null, direct: [], forwarded: [], copied: [], errors: [] };
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
