// Turns the measurements into tables: plain text for the terminal, Markdown for docs/.
import type { EchoCell, EchoSample } from "./echo.js";
import { sizeLabel } from "./echo.js";
import type { ForwardReport } from "./forward.js";
import { FORWARD_CONNS, FORWARD_SIZE } from "./forward.js";
import type { Machine } from "./machine.js";
import type { Options } from "./options.js";
import type { ScaleReport } from "./scale.js";
import type { ChurnResult } from "./churn.js";
import type { ServerSpec } from "./servers.js";
import { TLS_CONNS, TLS_SERVERS, TLS_SUITE, type TlsReport } from "./tls.js";
import type { RowReport } from "./rows.js";

export const REFERENCE = "c-epoll";

export interface Results {
  options: Options;
  command: string;
  /** The commit measured ("abc1234", "+ uncommitted changes" when the tree differs), or "unknown". */
  commit: string;
  date: Date;
  machine: Machine;
  pinning: string; // how processes were placed on CPUs
  quietWaitS: number; // seconds spent waiting for a quiet machine before runs
  servers: ServerSpec[];
  skipped: Array<{ name: string; reason: string }>;
  echo: EchoCell[] | null;
  scale: ScaleReport | null;
  churn: ChurnResult[] | null;
  forward: ForwardReport | null;
  tls: TlsReport | null;
  /** The optional rows that ran (bench/rows.ts), in their order there. */
  rows: RowReport[];
  chartFile: string | null; // the SVG's file name beside the Markdown, if written
}

// ---- numbers --------------------------------------------------------------------------------

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Each metric's own median over the rounds that succeeded; null if none did. */
export function medianSample(samples: EchoSample[]): EchoSample | null {
  if (samples.length === 0) return null;
  const pick = (k: keyof EchoSample): number => median(samples.map((s) => s[k]));
  return {
    rps: pick("rps"), mibps: pick("mibps"), p50: pick("p50"), p99: pick("p99"),
    cpuPerReq: pick("cpuPerReq"), clientCpuPerReq: pick("clientCpuPerReq"), otherLoad: pick("otherLoad"),
  };
}

/**
 * xs ÷ base within each round when both hold the same rounds (runs measured side by side); else
 * the ratio of the medians alone. Empty if either is.
 */
export function roundRatios(xs: number[], base: number[]): number[] {
  if (xs.length === 0 || base.length === 0) return [];
  return xs.length === base.length ? xs.map((x, i) => x / base[i]!) : [median(xs) / median(base)];
}

/** A cell whose rounds differ by more than this share of their median is flagged. */
export const SPREAD_LIMIT = 0.15;

/** Lowest, highest, and (highest − lowest) ÷ median of one metric over the rounds. */
export function spreadOf(xs: number[]): { min: number; max: number; spread: number } {
  if (xs.length === 0) return { min: NaN, max: NaN, spread: 0 };
  const min = Math.min(...xs);
  const max = Math.max(...xs);
  const mid = median(xs);
  return { min, max, spread: mid > 0 ? (max - min) / mid : 0 };
}

/** "7%", or "21% ⚠" past SPREAD_LIMIT; "–" with a single round (no spread to speak of). */
export function spreadLabel(xs: number[]): string {
  if (xs.length < 2) return "–";
  const { spread } = spreadOf(xs);
  return `${Math.round(spread * 100)}%${spread > SPREAD_LIMIT ? " ⚠" : ""}`;
}

/** True when any of the metrics spreads past SPREAD_LIMIT. */
export function flagged(...metrics: number[][]): boolean {
  return metrics.some((xs) => xs.length > 1 && spreadOf(xs).spread > SPREAD_LIMIT);
}

export const int = (n: number): string => Math.round(n).toLocaleString("en-US");
const mib = (n: number): string => (n >= 100 ? int(n) : n.toFixed(1));
const micros = (n: number): string => (n >= 100 ? int(n) : n >= 10 ? n.toFixed(1) : n.toFixed(2));
const ratio = (n: number): string => `${n.toFixed(2)}×`;
const percent = (n: number): string => `${Math.round(n * 100)}%`;
const DASH = "–";

// ---- tables ---------------------------------------------------------------------------------

export interface Table {
  title: string;
  headers: string[];
  rows: string[][];
}

/** Numbers right-aligned, the first column left-aligned. */
export function renderTable(t: Table, style: "text" | "md"): string {
  if (style === "md") {
    const head = `| ${t.headers.join(" | ")} |`;
    const rule = `|${t.headers.map((_, i) => (i === 0 ? " --- " : " ---: ")).join("|")}|`;
    return [head, rule, ...t.rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
  }
  const widths = t.headers.map((h, i) => Math.max(h.length, ...t.rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ").trimEnd();
  return [line(t.headers), widths.map((w) => "-".repeat(w)).join("  "), ...t.rows.map(line)].join("\n");
}

/** One table per (size, connections), a row per server, ratios against the C reference. */
export function echoTables(r: Results): Table[] {
  const cells = r.echo ?? [];
  const tables: Table[] = [];
  for (const size of r.options.sizes) {
    for (const conns of r.options.conns) {
      const group = cells.filter((c) => c.size === size && c.conns === conns);
      if (group.length === 0) continue;
      const refCell = group.find((c) => c.server === REFERENCE);
      const ref = refCell ? medianSample(refCell.samples) : null;
      tables.push({
        title: `${sizeLabel(size)} messages, ${conns} connections`,
        headers: [
          "server", "req/s", "MiB/s", "p50 µs", "p99 µs", "server CPU µs/req", "CPU min–max", "spread CPU / req/s",
          `req/s ÷ ${REFERENCE}`, `CPU/req ÷ ${REFERENCE}`, "runs ok", "other load",
        ],
        rows: group.map((c) => echoRow(c, ref, r.options.rounds)),
      });
    }
  }
  return tables;
}

/** "6.41–7.02" over the rounds (a single value with one round). */
export function rangeLabel(xs: number[], f: (n: number) => string = micros): string {
  if (xs.length === 0) return DASH;
  const { min, max } = spreadOf(xs);
  return xs.length === 1 ? f(min) : `${f(min)}–${f(max)}`;
}

function echoRow(c: EchoCell, ref: EchoSample | null, rounds: number): string[] {
  const m = medianSample(c.samples);
  const runs = `${c.samples.length}/${rounds}`;
  if (!m) return [c.server, "failed", DASH, DASH, DASH, DASH, DASH, DASH, DASH, DASH, runs, DASH];
  const cpu = c.samples.map((s) => s.cpuPerReq);
  const rps = c.samples.map((s) => s.rps);
  return [
    c.server, int(m.rps), mib(m.mibps), micros(m.p50), micros(m.p99), micros(m.cpuPerReq), rangeLabel(cpu),
    `${spreadLabel(cpu)} / ${spreadLabel(rps)}`,
    ref ? ratio(m.rps / ref.rps) : DASH, ref ? ratio(m.cpuPerReq / ref.cpuPerReq) : DASH, runs, percent(m.otherLoad),
  ];
}

export function scaleTable(s: ScaleReport): Table {
  const rows = s.results.map((res) => {
    const d = res.data;
    const v = (k: string, f: (n: number) => string): string => (d[k] === undefined ? DASH : f(d[k]!));
    return [
      res.error ? `${res.server} (failed)` : res.server,
      int(res.conns),
      v("accept_ms", int),
      v("rss_per_conn_bytes", (n) => `${int(n)} B`),
      v("base_p50_us", micros),
      v("idle_p50_us", micros),
      v("idle_p99_us", micros),
      d.echo_ok === undefined ? DASH : `${int(d.echo_ok)}/${int(res.conns)} in ${int(d.echo_ms ?? 0)} ms`,
    ];
  });
  return {
    title: "Idle connections held on one loop",
    headers: ["server", "idle conns", "all accepted ms", "RSS per conn", "ping p50 µs alone", "ping p50 µs with idle", "ping p99 µs with idle", "all echo back"],
    rows,
  };
}

export function churnTable(results: ChurnResult[]): Table {
  const mibs = (kib: number): string => `${(kib / 1024).toFixed(1)} MiB`;
  return {
    title: "Connection churn: connect, echo one byte, close",
    headers: ["server", "cycles", "cycles/s", "open fds before → after", "RSS before → after", "RSS growth"],
    rows: results.map((c) => [
      c.error ? `${c.server} (failed)` : c.server,
      int(c.cycles),
      c.seconds > 0 ? int(c.cycles / c.seconds) : DASH,
      `${c.fdsBefore} → ${c.fdsAfter}`,
      `${mibs(c.rssBeforeKiB)} → ${mibs(c.rssAfterKiB)}`,
      mibs(c.rssAfterKiB - c.rssBeforeKiB),
    ]),
  };
}

/** Through each forwarder, against the direct run and ours against c-forward, ratios paired by round. */
export function forwardTable(f: ForwardReport): Table {
  const row = (name: string, samples: EchoSample[], whose: string): string[] => {
    const m = medianSample(samples);
    return m
      ? [name, mib(m.mibps), rangeLabel(samples.map((s) => s.mibps), mib), spreadLabel(samples.map((s) => s.mibps)), int(m.rps), micros(m.p50), micros(m.p99), `${micros(m.cpuPerReq)} (${whose})`]
      : [name, "failed", DASH, DASH, DASH, DASH, DASH, DASH];
  };
  // Reports from before --no-splice or c-forward were measured have no such samples: no such rows.
  const present = (xs: EchoSample[] | undefined): xs is EchoSample[] => xs !== undefined && xs.length > 0;
  const rows = [row("direct to c-epoll", f.direct, "echo server"), row("through our forwarder", f.forwarded, "forwarder")];
  if (present(f.copied)) rows.push(row("our forwarder, copying (--no-splice)", f.copied, "forwarder"));
  if (present(f.cSplice)) rows.push(row("through c-forward (splice)", f.cSplice, "c-forward"));
  if (present(f.cCopy)) rows.push(row("c-forward, copying (--copy)", f.cCopy, "c-forward"));
  // `runs` against `base`: MiB/s within each round (roundRatios), the other columns as medians; the
  // CPU ratio only where both sides are forwarders (a direct run's CPU is the echo server's).
  const ratioRow = (name: string, runs: EchoSample[] | undefined, base: EchoSample[] | undefined, cpu: boolean): void => {
    const m = medianSample(runs ?? []);
    const b = medianSample(base ?? []);
    if (!m || !b) return;
    const pairs = roundRatios(runs!.map((s) => s.mibps), base!.map((s) => s.mibps));
    rows.push([
      name, ratio(median(pairs)), rangeLabel(pairs, ratio), spreadLabel(pairs),
      ratio(m.rps / b.rps), ratio(m.p50 / b.p50), ratio(m.p99 / b.p99), cpu ? ratio(m.cpuPerReq / b.cpuPerReq) : DASH,
    ]);
  };
  ratioRow("ours ÷ direct", f.forwarded, f.direct, false);
  ratioRow("ours copying ÷ direct", f.copied, f.direct, false);
  ratioRow("c-forward ÷ direct", f.cSplice, f.direct, false);
  ratioRow("c-forward copying ÷ direct", f.cCopy, f.direct, false);
  ratioRow("ours ÷ c-forward (splice)", f.forwarded, f.cSplice, true);
  ratioRow("ours ÷ c-forward (copying)", f.copied, f.cCopy, true);
  return {
    title: `Port forwarder, ${sizeLabel(FORWARD_SIZE)} messages, ${FORWARD_CONNS} connections`,
    headers: ["path", "MiB/s", "min–max", "spread", "req/s", "p50 µs", "p99 µs", "CPU µs/req"],
    rows,
  };
}

/** A row per server and size, and ours ÷ Node's tls (the goal: CPU/req at most 0.80×). */
export function tlsTable(t: TlsReport): Table {
  const rows: string[][] = [];
  const sizes = [...new Set(t.cells.map((c) => c.size))];
  for (const size of sizes) {
    const of = (name: string): EchoSample | null => medianSample(t.cells.find((c) => c.server === name && c.size === size)?.samples ?? []);
    const ours = of("ours-tls");
    const node = of("node-tls");
    for (const [name, m] of [["ours-tls", ours], ["node-tls", node]] as const) {
      rows.push(m ? [name, sizeLabel(size), int(m.rps), mib(m.mibps), micros(m.p50), micros(m.p99), micros(m.cpuPerReq)] : [name, sizeLabel(size), "failed", DASH, DASH, DASH, DASH]);
    }
    if (ours && node) {
      rows.push(["ours ÷ node-tls", sizeLabel(size), ratio(ours.rps / node.rps), DASH, ratio(ours.p50 / node.p50), ratio(ours.p99 / node.p99), ratio(ours.cpuPerReq / node.cpuPerReq)]);
    }
  }
  return {
    title: `TLS echo, TLS 1.3 ${TLS_SUITE}, ${TLS_CONNS} connections (load: tls-load.ts, Node's tls client)`,
    headers: ["server", "size", "req/s", "MiB/s", "p50 µs", "p99 µs", "server CPU µs/req"],
    rows,
  };
}

/** Every failure of the run, so that none hides behind a median. */
export function problems(r: Results): string[] {
  const out: string[] = [];
  for (const c of r.echo ?? []) for (const e of c.errors) out.push(`echo ${c.server}, ${sizeLabel(c.size)} × ${c.conns}: ${e}`);
  for (const s of r.scale?.results ?? []) if (s.error) out.push(`scale ${s.server}: ${s.error}`);
  for (const c of r.churn ?? []) if (c.error) out.push(`churn ${c.server}: ${c.error}`);
  for (const e of r.forward?.errors ?? []) out.push(`forwarder: ${e}`);
  for (const c of r.tls?.cells ?? []) for (const e of c.errors) out.push(`tls ${c.server}, ${sizeLabel(c.size)}: ${e}`);
  for (const row of r.rows) out.push(...row.problems);
  return out;
}

function settings(r: Results): string {
  const o = r.options;
  return `${o.rounds} round${o.rounds === 1 ? "" : "s"}, ${o.warmup} s warmup + ${o.duration} s measured per run, the servers of a cell in turn within each round (ABAB); median, min–max and spread per cell, ⚠ where the spread (max − min) ÷ median exceeds ${Math.round(SPREAD_LIMIT * 100)}%; ${r.pinning}`;
}

function quietNote(r: Results): string {
  return `Before each run the driver waited up to 5 s for the machine to be nearly idle (${r.quietWaitS.toFixed(0)} s of waiting in all).`;
}

// ---- the terminal ---------------------------------------------------------------------------

export function textReport(r: Results): string {
  const out: string[] = [`${r.echo ? "Echo benchmark" : "Benchmark"} — ${settings(r)}`];
  for (const s of r.skipped) out.push(`skipped ${s.name}: ${s.reason}`);
  for (const t of echoTables(r)) out.push("", t.title, renderTable(t, "text"));
  if (r.scale) {
    out.push("", renderTitle(scaleTable(r.scale)), renderTable(scaleTable(r.scale), "text"));
    if (r.scale.note) out.push(`note: ${r.scale.note}`);
  }
  if (r.churn) {
    out.push("", renderTitle(churnTable(r.churn)), renderTable(churnTable(r.churn), "text"));
  }
  if (r.forward) {
    if (r.forward.skipped) out.push("", `Port forwarder: skipped: ${r.forward.skipped}`);
    else out.push("", renderTitle(forwardTable(r.forward)), renderTable(forwardTable(r.forward), "text"));
  }
  if (r.tls) {
    if (r.tls.skipped) out.push("", `TLS echo: skipped: ${r.tls.skipped}`);
    else out.push("", renderTitle(tlsTable(r.tls)), renderTable(tlsTable(r.tls), "text"));
  }
  for (const row of r.rows) {
    if (row.skipped) out.push("", `${row.title}: skipped: ${row.skipped}`);
    else for (const t of row.tables) out.push("", t.title, renderTable(t, "text"));
  }
  const p = problems(r);
  if (p.length) out.push("", "Problems:", ...p.map((x) => `  - ${x}`));
  return out.join("\n");
}

const renderTitle = (t: Table): string => t.title;

// ---- docs/benchmarks.md ---------------------------------------------------------------------

function machineSection(r: Results): string[] {
  const m = r.machine;
  return [
    "## Machine",
    "",
    `- CPU: ${m.cpu}, ${m.cores} cores`,
    `- Kernel: ${m.kernel}`,
    `- Node: ${m.node}`,
    `- Python: ${m.python} (python3 on PATH, runs py-asyncore)`,
    `- uvloop: ${m.uvloop ?? "not installed"}`,
    `- Load average (1 min) before the run: ${m.loadAverage}`,
    `- Settings: ${settings(r)}`,
    `- ${quietNote(r)}`,
  ];
}

function serversSection(r: Results): string[] {
  const lines = ["## Servers", ""];
  for (const s of r.servers) lines.push(`- \`${s.name}\`: ${s.description}`);
  for (const s of r.skipped) lines.push(`- \`${s.name}\`: skipped: ${s.reason}`);
  return lines;
}

/**
 * Server CPU µs per request, a row per server and a column per size × connections (the table the
 * README shows): the median, with ⚠ where the rounds spread past SPREAD_LIMIT.
 */
export function summaryTable(r: Results): Table {
  const cells = r.echo ?? [];
  const columns: Array<{ size: number; conns: number }> = [];
  for (const size of r.options.sizes) for (const conns of r.options.conns) columns.push({ size, conns });
  const names = [...new Set(cells.map((c) => c.server))];
  const rows = names.map((name) => [
    name,
    ...columns.map(({ size, conns }) => {
      const cell = cells.find((c) => c.server === name && c.size === size && c.conns === conns);
      const m = cell ? medianSample(cell.samples) : null;
      if (!cell || !m) return DASH;
      return `${micros(m.cpuPerReq)}${flagged(cell.samples.map((x) => x.cpuPerReq)) ? " ⚠" : ""}`;
    }),
  ]);
  return {
    title: "Server CPU µs per request (median; ⚠: rounds spread past 15 %)",
    headers: ["server", ...columns.map(({ size, conns }) => `${sizeLabel(size)} ×${conns}`)],
    rows,
  };
}

function echoSection(r: Results): string[] {
  const lines = [
    "## Echo",
    "",
    "Each connection sends a whole message, reads the same bytes back and sends again. req/s and MiB/s count",
    "completed round trips (MiB/s counts the payload once); p50/p99 are round-trip latencies; server CPU",
    "µs/req is the server process's own user + system time over the measured window divided by the",
    `requests; the ratios compare with \`${REFERENCE}\` (CPU/req ÷ ${REFERENCE} of 3.00× means three times the`,
    "CPU per request). \"other load\" is the share of the machine's CPU that processes other than the server",
    "and the load generator used during the window: when it is high, that cell was disturbed.",
  ];
  if (r.chartFile) lines.push("", `![Server CPU time per request](${r.chartFile})`);
  const summary = summaryTable(r);
  lines.push("", `### ${summary.title}`, "", renderTable(summary, "md"));
  for (const t of echoTables(r)) lines.push("", `### ${t.title}`, "", renderTable(t, "md"));
  return lines;
}

function scaleSection(s: ScaleReport): string[] {
  const t = scaleTable(s);
  const lines = [
    "## Idle connections",
    "",
    "One server holds many idle connections, opened as fast as it accepts them (the client keeps at most",
    "512 waiting in the accept queue, so no SYN is dropped and TCP's one-second retransmission never counts).",
    "\"all accepted\" is the time until the server process holds every descriptor; RSS per conn is the growth",
    "of the server's resident memory divided by the connections. The ping columns are single-byte round trips on one more connection, alone and then with",
    "all the idle ones open: the difference is what one loop pass costs for the idle channels. Last, one byte",
    "goes out on every idle connection and must come back.",
    "",
    renderTable(t, "md"),
  ];
  if (s.note) lines.push("", `Note: ${s.note}.`);
  return lines;
}

function churnSection(results: ChurnResult[]): string[] {
  return [
    "## Connection churn",
    "",
    "A fresh server gets 2,000 warm-up cycles, then 100,000 more, one connection at a time: connect, send one",
    "byte, read it back, close. The server's open descriptors (`/proc/PID/fd`) and resident memory are read",
    "before and after (once the descriptor count has settled): a leak shows as more descriptors, or memory",
    "that grows with the cycles.",
    "",
    renderTable(churnTable(results), "md"),
  ];
}

function forwardSection(f: ForwardReport): string[] {
  const lines = ["## Port forwarder", ""];
  if (f.skipped) return [...lines, `Skipped: ${f.skipped}.`];
  return [
    ...lines,
    "echo-load against the c-epoll echo server, directly and through four forwarders in turn within each",
    "round: `asyncore forward` as the command runs (splice(2) on Linux) and with `--no-splice` (recv and",
    "send), and `c-forward` (`bench/servers/c-forward.c`, a minimal forwarder in C over epoll) with",
    "splice(2) and with `--copy` (recv and send through a 64 KiB buffer). c-forward is the floor: what a",
    "forwarding hop costs on this machine before any library. Every forwarder is pinned to the server CPU;",
    "the echo server and the load generator share the other CPU in every case. CPU µs/req is the",
    "forwarder's own CPU time per round trip. Ratios are taken within each round; ours ÷ c-forward compares",
    "the same way of relaying (splice with splice, copying with copying).",
    "",
    renderTable(forwardTable(f), "md"),
  ];
}

function tlsSection(t: TlsReport): string[] {
  const lines = ["## TLS echo", ""];
  if (t.skipped) return [...lines, `Skipped: ${t.skipped}.`];
  return [
    ...lines,
    ...TLS_SERVERS.map((s) => `- \`${s.name}\`: ${s.description}`),
    "",
    `Both servers use the same certificate (EC P-256, made with \`openssl req\` at the start of the run) and TLS 1.3`,
    `with ${TLS_SUITE} only. The load generator is \`bench/tls-load.ts\` on Node's \`tls\` client (echo-load.c`,
    "speaks no TLS), pinned to the client CPU; the connections are made before the measured window, so the",
    "figures are the record layer's cost per round trip, not the handshake's. Server CPU µs/req is the number",
    "to compare; req/s and latency are bounded by the Node client.",
    "",
    renderTable(tlsTable(t), "md"),
  ];
}

function rowSection(row: RowReport): string[] {
  const lines = [`## ${row.title}`, ""];
  if (row.skipped) return [...lines, `Skipped: ${row.skipped}.`];
  lines.push(...row.about);
  for (const t of row.tables) lines.push("", `### ${t.title}`, "", renderTable(t, "md"));
  return lines;
}

export function markdownReport(r: Results): string {
  const lines = [
    "# Benchmarks",
    "",
    `Measured ${r.date.toISOString().replace("T", " ").slice(0, 16)} UTC on commit ${r.commit} with:`,
    "",
    "```sh",
    r.command,
    "```",
    "",
    "How it works and what every number means: [bench/README.md](../bench/README.md).",
    "",
    ...machineSection(r),
    "",
    ...serversSection(r),
  ];
  if (r.echo) lines.push("", ...echoSection(r));
  if (r.scale) lines.push("", ...scaleSection(r.scale));
  if (r.churn) lines.push("", ...churnSection(r.churn));
  if (r.forward) lines.push("", ...forwardSection(r.forward));
  if (r.tls) lines.push("", ...tlsSection(r.tls));
  for (const row of r.rows) lines.push("", ...rowSection(row));
  const p = problems(r);
  lines.push("", "## Problems seen in this run", "", ...(p.length ? p.map((x) => `- ${x}`) : ["None."]));
  return lines.join("\n") + "\n";
}
