// The TLS echo row: this library's asyncore/tls against Node's tls module, same run, same
// certificate (an EC P-256 pair made here with `openssl req`), TLS 1.3 with one cipher suite on
// both. The load generator is tls-load.ts (Node's tls client: echo-load.c speaks no TLS), pinned
// to the client CPU; each server to the server CPU. Connections are made before the window: the
// numbers are the record layer's cost per round trip, not the handshake's.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import type { EchoCell, Log } from "./echo.js";
import { explain, sizeLabel, startServer, toSample } from "./echo.js";
import type { Options } from "./options.js";
import { CLIENT_CPU, pinned, runJson, succeeds, type Command } from "./procs.js";
import { waitForQuiet } from "./quiet.js";
import type { Paths } from "./servers.js";

export const TLS_SUITE = "TLS_AES_128_GCM_SHA256";
export const TLS_SIZES = [1024, 100 * 1024];
export const TLS_CONNS = 10;
export const TLS_SERVERS = [
  { name: "ours-tls", file: "asyncore-tls-echo.js", description: "asyncore/tls: TLSDispatcherWithSend echo, recv(16384) (bench/servers/asyncore-tls-echo.ts)" },
  { name: "node-tls", file: "node-tls.js", description: "Node's tls module, socket.pipe(socket) (bench/servers/node-tls.ts)" },
] as const;

export interface TlsReport {
  skipped: string | null;
  cells: EchoCell[];
}

interface Pair { certFile: string; keyFile: string }

function makeCertificate(p: Paths): Pair {
  const dir = path.join(p.work, "tls");
  mkdirSync(dir, { recursive: true });
  const certFile = path.join(dir, "cert.pem");
  const keyFile = path.join(dir, "key.pem");
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", keyFile, "-out", certFile], { stdio: "ignore" });
  return { certFile, keyFile };
}

function serverCommand(p: Paths, file: string, pair: Pair): (port: number) => Command {
  return (port) => ({ cmd: process.execPath, args: [path.join(p.distBench, "servers", file), String(port), pair.certFile, pair.keyFile, TLS_SUITE] });
}

const STALL_S = 5;

async function runOnce(p: Paths, o: Options, file: string, pair: Pair, size: number, cpus: number): Promise<ReturnType<typeof toSample>> {
  await waitForQuiet();
  const { proc, port } = await startServer(serverCommand(p, file, pair));
  try {
    const args = [path.join(p.distBench, "tls-load.js"), "--port", String(port), "--conns", String(TLS_CONNS), "--size", String(size),
      "--warmup", String(o.warmup), "--duration", String(o.duration), "--server-pid", String(proc.pid), "--ca", pair.certFile, "--stall", String(STALL_S)];
    const limitMs = (o.warmup + o.duration + STALL_S + 15) * 1000;
    const run = await runJson(pinned(CLIENT_CPU, { cmd: process.execPath, args }), limitMs);
    if (run.timedOut) throw new Error(`tls-load did not finish within ${limitMs / 1000} s`);
    if (!run.json) throw new Error(`tls-load printed no result: ${run.output.trim().slice(-300)}`);
    if (typeof run.json.error === "string") throw new Error(run.json.error);
    if (!proc.running) throw new Error("the server exited during the run");
    return toSample(run.json, cpus);
  } catch (err) {
    throw new Error(await explain(err, proc));
  } finally {
    await proc.stop();
  }
}

export async function runTls(p: Paths, o: Options, cpus: number, log: Log): Promise<TlsReport> {
  const report: TlsReport = { skipped: null, cells: [] };
  const missing = TLS_SERVERS.map((s) => path.join(p.distBench, "servers", s.file)).find((f) => !existsSync(f));
  if (missing !== undefined) report.skipped = `${path.relative(p.root, missing)} is missing: run tsc -p tsconfig.json`;
  else if (!succeeds("openssl", ["version"])) report.skipped = "the openssl command is not available (it makes the certificate)";
  if (report.skipped !== null) {
    log(`[tls] skipped: ${report.skipped}`);
    return report;
  }
  const pair = makeCertificate(p);
  for (const s of TLS_SERVERS) for (const size of TLS_SIZES) report.cells.push({ server: s.name, size, conns: TLS_CONNS, samples: [], errors: [] });
  for (let round = 1; round <= o.rounds; round++) {
    for (const cell of report.cells) {
      const file = TLS_SERVERS.find((s) => s.name === cell.server)!.file;
      const label = `[tls round ${round}/${o.rounds}] ${cell.server.padEnd(9)} ${sizeLabel(cell.size).padStart(7)} × ${cell.conns} conns`;
      try {
        const s = await runOnce(p, o, file, pair, cell.size, cpus);
        cell.samples.push(s);
        log(`${label}: ${Math.round(s.rps).toLocaleString("en-US")} req/s, ${s.cpuPerReq.toFixed(2)} CPU µs/req, p50 ${s.p50.toFixed(0)} µs`);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        cell.errors.push(`round ${round}: ${message}`);
        log(`${label}: FAILED: ${message}`);
      }
    }
  }
  return report;
}
