// The SMTP row of `npm run bench -- --only-smtp` (and `node dist/bench/smtp.js` alone): messages
// per second and server CPU per message, 20 concurrent smtplib clients sending 10 KiB messages.
//
// Servers: ours (`asyncore smtp-server`, printing its summary line per message) and Python 3.11's
// smtpd.SMTPServer on asyncore (the program ours ports), printing the same line. Each runs pinned
// to the server CPU; the Python load generator (one thread and connection per client) to the
// other. Runs alternate ours/smtpd, round after round. The load generator itself reads the
// server's CPU time (/proc/PID/stat) at the start and end of the window it counts messages in.
import type { RowContext, RowReport } from "./rows.js";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { CLIENT_CPU, Proc, SERVER_CPU, pinned, pinning, sleep, succeeds, type Command } from "./procs.js";
import { waitForQuiet } from "./quiet.js";

export interface SmtpBenchOptions {
  /** The repository (dist/src/cli/main.js must be built). */
  root: string;
  rounds?: number;
  clients?: number;
  /** Bytes per message. */
  size?: number;
  warmupS?: number;
  durationS?: number;
  log?: (line: string) => void;
}

export interface SmtpSample {
  messagesPerS: number;
  /** Server CPU (user + system) per message, microseconds. */
  serverCpuUsPerMessage: number;
  /** Server CPU over the window, in cores (1 = one core busy). */
  serverCores: number;
  /** The load generator's CPU over the window, in cores. */
  clientCores: number;
}

export interface SmtpBenchResult {
  pinning: string;
  clients: number;
  size: number;
  durationS: number;
  servers: { name: string; samples: SmtpSample[]; skipped: string | null }[];
}

// The load generator: `clients` threads, each with its own connection, sendmail() in a loop.
const LOAD = String.raw`
import json, os, smtplib, sys, threading, time
port, clients, size, warmup, duration, server_pid = (int(a) if i != 3 and i != 4 else float(a) for i, a in enumerate(sys.argv[1:7]))
line = b'0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz..\r\n'
head = b'From: bench@example.com\r\nTo: sink@example.com\r\nSubject: bench\r\n\r\n'
body = (line * (size // len(line) + 1))[:size - len(head) - 2] + b'\r\n'
msg = head + body
counting = threading.Event(); stopping = threading.Event()
counts = [0] * clients; errors = []
def worker(i):
    try:
        s = smtplib.SMTP('127.0.0.1', port, timeout=30)
        s.ehlo()
        while not stopping.is_set():
            s.sendmail('bench@example.com', ['sink@example.com'], msg)
            if counting.is_set(): counts[i] += 1
        s.quit()
    except Exception as e:
        errors.append(repr(e))
def server_cpu():
    f = open('/proc/%d/stat' % server_pid).read().rsplit(')', 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf('SC_CLK_TCK')
threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
for t in threads: t.start()
time.sleep(warmup)
c0, s0, t0 = sum(os.times()[:2]), server_cpu(), time.monotonic()
counting.set()
time.sleep(duration)
counting.clear()
c1, s1, t1 = sum(os.times()[:2]), server_cpu(), time.monotonic()
n = sum(counts)
stopping.set()
for t in threads: t.join(30)
print(json.dumps({'messages': n, 'seconds': t1 - t0, 'server_cpu': s1 - s0, 'client_cpu': c1 - c0, 'errors': errors[:3]}))
`;

// Python's smtpd, printing the same summary line as ours.
const SMTPD = String.raw`
import asyncore, smtpd, sys
class Server(smtpd.SMTPServer):
    def process_message(self, peer, mailfrom, rcpttos, data, **kwargs):
        print('message from %s:%d: <%s> -> %s, %d bytes' % (peer[0], peer[1], mailfrom, ', '.join('<%s>' % r for r in rcpttos), len(data)))
server = Server(('127.0.0.1', 0), None)
server.listen(128)  # smtpd listens with a backlog of 5: 20 clients connecting at once would overflow it
print('smtpd listening on 127.0.0.1:%d' % server.socket.getsockname()[1], file=sys.stderr, flush=True)
asyncore.loop()
`;

interface ServerDef {
  name: string;
  command: Command;
  unavailable: () => string | null;
}

function servers(root: string): ServerDef[] {
  const cli = path.join(root, "dist", "src", "cli", "main.js");
  return [
    { name: "ours", command: { cmd: process.execPath, args: [cli, "smtp-server", "--port", "0"] }, unavailable: () => null },
    {
      name: "py-smtpd",
      command: { cmd: "python3", args: ["-W", "ignore", "-c", SMTPD] },
      unavailable: () => (succeeds("python3", ["-W", "ignore", "-c", "import smtpd"]) ? null : "python3 has no smtpd (removed in 3.12)"),
    },
  ];
}

/** Starts `def` pinned to the server CPU and reads the port it prints ("listening on HOST:PORT"). */
async function startServer(def: ServerDef): Promise<{ proc: Proc; port: number }> {
  const proc = new Proc(pinned(SERVER_CPU, def.command));
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const m = /listening on 127\.0\.0\.1:(\d+)/.exec(proc.output());
    if (m) return { proc, port: Number(m[1]) };
    if (!proc.running) throw new Error(`${def.name} ${proc.describeExit()}`);
    await sleep(50);
  }
  await proc.stop();
  throw new Error(`${def.name} did not say where it listens within 15 s`);
}

async function oneRun(def: ServerDef, o: Required<Omit<SmtpBenchOptions, "log">>): Promise<SmtpSample> {
  const { proc, port } = await startServer(def);
  try {
    const args = [String(port), String(o.clients), String(o.size), String(o.warmupS), String(o.durationS), String(proc.pid)];
    const load = new Proc(pinned(CLIENT_CPU, { cmd: "python3", args: ["-c", LOAD, ...args] }));
    await load.exited;
    const line = load.output().split("\n").reverse().find((l) => l.startsWith("{"));
    if (line === undefined) throw new Error(`the load generator ${load.describeExit()}`);
    const r = JSON.parse(line) as { messages: number; seconds: number; server_cpu: number; client_cpu: number; errors: string[] };
    if (r.errors.length > 0) throw new Error(`client errors: ${r.errors.join("; ")}`);
    if (!proc.running) throw new Error(`${def.name} ${proc.describeExit()}`);
    return {
      messagesPerS: r.messages / r.seconds,
      serverCpuUsPerMessage: (r.server_cpu / r.messages) * 1e6,
      serverCores: r.server_cpu / r.seconds,
      clientCores: r.client_cpu / r.seconds,
    };
  } finally {
    await proc.stop();
  }
}

/** Runs the rounds (ours, smtpd, ours, smtpd, ...) and returns every sample. */
export async function runSmtpBench(opts: SmtpBenchOptions): Promise<SmtpBenchResult> {
  const o = { rounds: 3, clients: 20, size: 10 * 1024, warmupS: 1, durationS: 5, ...opts };
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const defs = servers(o.root);
  const result: SmtpBenchResult = {
    pinning: pinning.enabled ? `servers on CPU ${SERVER_CPU}, smtplib clients on CPU ${CLIENT_CPU} (taskset)` : `not pinned (${pinning.reason})`,
    clients: o.clients,
    size: o.size,
    durationS: o.durationS,
    servers: defs.map((d) => ({ name: d.name, samples: [], skipped: d.unavailable() })),
  };
  if (!succeeds("python3", ["-c", "import smtplib"])) {
    for (const s of result.servers) s.skipped = "python3 with smtplib is needed for the load generator";
    return result;
  }
  for (let round = 1; round <= o.rounds; round++) {
    for (const [i, def] of defs.entries()) {
      const entry = result.servers[i]!;
      if (entry.skipped !== null) continue;
      await waitForQuiet();
      try {
        const s = await oneRun(def, o);
        entry.samples.push(s);
        log(`[smtp round ${round}/${o.rounds}] ${def.name}: ${s.messagesPerS.toFixed(0)} msg/s, ${s.serverCpuUsPerMessage.toFixed(0)} µs server CPU/msg (server ${(s.serverCores * 100).toFixed(0)}% of a core, clients ${(s.clientCores * 100).toFixed(0)}%)`);
      } catch (err) {
        log(`[smtp round ${round}/${o.rounds}] ${def.name} FAILED: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
  return result;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** The result as a Markdown table: medians, with the spread of the rounds. */
export function smtpTable(r: SmtpBenchResult): string {
  const rows = r.servers.map((s) => {
    if (s.skipped !== null) return `| ${s.name} | skipped: ${s.skipped} | | | |`;
    if (s.samples.length === 0) return `| ${s.name} | failed | | | |`;
    const rate = s.samples.map((x) => x.messagesPerS);
    const cpu = s.samples.map((x) => x.serverCpuUsPerMessage);
    const spread = (xs: number[]): string => `${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}`;
    return `| ${s.name} | ${median(rate).toFixed(0)} (${spread(rate)}) | ${median(cpu).toFixed(0)} (${spread(cpu)}) | ${(median(s.samples.map((x) => x.serverCores)) * 100).toFixed(0)}% | ${(median(s.samples.map((x) => x.clientCores)) * 100).toFixed(0)}% |`;
  });
  return [
    `SMTP: ${r.clients} concurrent smtplib clients, ${r.size / 1024} KiB messages, ${r.durationS} s measured per run, median of ${Math.max(...r.servers.map((s) => s.samples.length))} rounds (min–max); ${r.pinning}.`,
    "",
    "| server | messages/s | server CPU µs/message | server CPU | client CPU |",
    "| --- | --- | --- | --- | --- |",
    ...rows,
  ].join("\n");
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
  const rounds = Number(process.argv[2] ?? 3);
  const result = await runSmtpBench({ root, rounds });
  process.stdout.write(`${smtpTable(result)}\n`);
}

/** The SMTP row of `npm run bench` (bench/rows.ts): `--only-smtp`, `--no-smtp`. */
export async function smtpRow(ctx: RowContext): Promise<RowReport> {
  const o = ctx.options;
  const r = await runSmtpBench({ root: ctx.paths.root, rounds: Math.min(o.rounds, 3), durationS: o.quick ? 1 : 5, warmupS: o.quick ? 0.3 : 1, log: ctx.log });
  const skipped = r.servers.every((s) => s.skipped !== null) ? r.servers.map((s) => s.skipped).join("; ") : null;
  const spread = (xs: number[]): string => `${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)}`;
  return {
    title: "SMTP server: concurrent smtplib clients",
    skipped,
    about: [
      `${r.clients} concurrent Python \`smtplib\` clients, one connection each, send ${r.size / 1024} KiB messages in a loop`,
      "to `asyncore smtp-server` and to Python's `smtpd` (DebuggingServer-like sink), in turn each round;",
      `${r.pinning}. The clients are Python, so messages/s is bounded by them: server CPU per message is the figure.`,
    ],
    tables: [{
      title: `SMTP, ${r.clients} clients, ${r.size / 1024} KiB messages (median, min–max)`,
      headers: ["server", "messages/s", "server CPU µs/message", "server CPU", "client CPU"],
      rows: r.servers.map((s) => {
        if (s.skipped !== null || s.samples.length === 0) return [s.name, s.skipped ?? "failed", "", "", ""];
        const rate = s.samples.map((x) => x.messagesPerS);
        const cpu = s.samples.map((x) => x.serverCpuUsPerMessage);
        return [s.name, `${median(rate).toFixed(0)} (${spread(rate)})`, `${median(cpu).toFixed(0)} (${spread(cpu)})`,
          `${(median(s.samples.map((x) => x.serverCores)) * 100).toFixed(0)}%`, `${(median(s.samples.map((x) => x.clientCores)) * 100).toFixed(0)}%`];
      }),
    }],
    problems: [],
  };
}
