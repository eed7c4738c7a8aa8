// Command-line flags and BENCH_* environment variables of `npm run bench`; flags win.

export const ALL_SERVERS = ["ours", "ours-poll", "ours-chat", "node-net", "py-asyncore", "uvloop", "c-epoll"];
export const SCALE_SERVERS = ["ours", "c-epoll", "node-net"];

export interface Options {
  quick: boolean;
  rounds: number;
  warmup: number; // seconds
  duration: number; // seconds
  servers: string[];
  sizes: number[]; // bytes
  conns: number[];
  echo: boolean;
  scale: boolean;
  scaleConns: number;
  scaleServers: string[];
  forward: boolean;
  tls: boolean;
  /** The optional rows of bench/rows.ts that run (by name). */
  rows: Set<string>;
  /** Where benchmarks.md and benchmarks.svg go; null: write nothing. */
  outDir: string | null;
  help: boolean;
}

export const USAGE = `npm run bench -- [options]

  --quick              smoke test: 1 round, 0.3 s warmup + 1 s runs, sizes 1k,100k, 10 connections;
                       writes to bench/.work/quick/ instead of docs/
  --rounds N           rounds per cell: median, min–max and spread are reported (default 5)
                                                                               BENCH_ROUNDS
  --warmup S           seconds of load before measuring (default 0.5)          BENCH_WARMUP
  --duration S         seconds measured per run (default 2)                    BENCH_DURATION
  --servers a,b        echo servers (default all: ${ALL_SERVERS.join(",")})
                                                                               BENCH_SERVERS
  --sizes 1k,10k,100k  message sizes, bytes or k (KiB)                         BENCH_SIZES
  --conns 10,100       connection counts                                       BENCH_CONNS
  --scale-conns N      idle connections held in the scale probe (default 10000) BENCH_SCALE_CONNS
  --scale-servers a,b  servers probed for scale (default ${SCALE_SERVERS.join(",")})
  --no-echo            skip the echo benchmark
  --no-scale           skip the idle-connection probe
  --no-forward         skip the port forwarder comparison
  --no-tls             skip the TLS echo row (ours vs Node's tls)
  --no-NAME            skip an optional row (see below)
  --only-PART          run only this part (several --only-* add up): echo, scale, forward, tls,
                       or an optional row
  --out DIR            write benchmarks.md and benchmarks.svg to DIR (default docs)
  --no-write           print the tables only
  --help               this text
`;

function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kKmM]?)(?:i?[bB])?$/.exec(text.trim());
  if (!m) throw new Error(`not a size: ${text}`);
  const unit = m[2]!.toLowerCase() === "k" ? 1024 : m[2]!.toLowerCase() === "m" ? 1024 * 1024 : 1;
  const n = Math.round(Number(m[1]) * unit);
  if (n < 2) throw new Error(`a message must be at least 2 bytes: ${text}`);
  return n;
}

function parsePositive(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${what} must be a positive number, got ${text}`);
  return n;
}

function parseNonNegative(text: string, what: string): number {
  const n = Number(text);
  if (text.trim() === "" || !Number.isFinite(n) || n < 0) throw new Error(`${what} must be a number >= 0, got ${text}`);
  return n;
}

function parseList(text: string): string[] {
  return text.split(",").map((s) => s.trim()).filter(Boolean);
}

function checkServers(names: string[], known: string[]): string[] {
  for (const n of names) if (!known.includes(n)) throw new Error(`unknown server ${n} (known: ${known.join(", ")})`);
  return names;
}

function defaults(quick: boolean): Options {
  return {
    quick,
    rounds: quick ? 1 : 5,
    warmup: quick ? 0.3 : 0.5,
    duration: quick ? 1 : 2,
    servers: [...ALL_SERVERS],
    sizes: quick ? [1024, 100 * 1024] : [1024, 10 * 1024, 100 * 1024],
    conns: quick ? [10] : [10, 100],
    echo: true,
    scale: true,
    scaleConns: 10_000,
    scaleServers: [...SCALE_SERVERS],
    forward: true,
    tls: true,
    rows: new Set(),
    outDir: quick ? "bench/.work/quick" : "docs",
    help: false,
  };
}

/** Applies one setting by its flag name, from a flag or from its BENCH_* variable. */
function apply(o: Options, name: string, value: string): void {
  switch (name) {
    case "rounds": o.rounds = Math.round(parsePositive(value, "--rounds")); break;
    case "warmup": o.warmup = parseNonNegative(value, "--warmup"); break;
    case "duration": o.duration = parsePositive(value, "--duration"); break;
    case "servers": o.servers = checkServers(parseList(value), ALL_SERVERS); break;
    case "sizes": o.sizes = parseList(value).map(parseSize); break;
    case "conns": o.conns = parseList(value).map((c) => Math.round(parsePositive(c, "--conns"))); break;
    case "scale-conns": o.scaleConns = Math.round(parsePositive(value, "--scale-conns")); break;
    case "scale-servers": o.scaleServers = checkServers(parseList(value), SCALE_SERVERS); break;
    case "out": o.outDir = value; break;
    default: throw new Error(`unknown option --${name}`);
  }
}

const ENV: Record<string, string> = {
  BENCH_ROUNDS: "rounds",
  BENCH_WARMUP: "warmup",
  BENCH_DURATION: "duration",
  BENCH_SERVERS: "servers",
  BENCH_SIZES: "sizes",
  BENCH_CONNS: "conns",
  BENCH_SCALE_CONNS: "scale-conns",
};

/** The parts --only-* and --no-* name, besides the optional rows. */
const PARTS = ["echo", "scale", "forward", "tls"] as const;

/** --help's text with the optional rows listed. */
export function usage(rows: ReadonlyArray<{ name: string; help: string }>): string {
  const lines = rows.map((r) => `  ${`--only-${r.name}`.padEnd(21)}${r.help}\n`).join("");
  return `${USAGE}\nOptional rows (on by default; --no-NAME skips one):\n${lines}`;
}

export function parseOptions(argv: string[], env: NodeJS.ProcessEnv, rowNames: readonly string[] = []): Options {
  const o = defaults(argv.includes("--quick"));
  o.rows = new Set(rowNames);
  let only = false;
  const select = (part: string): void => {
    if (!only) {
      only = true;
      o.echo = o.scale = o.forward = o.tls = false;
      o.rows.clear();
    }
    if ((PARTS as readonly string[]).includes(part)) o[part as (typeof PARTS)[number]] = true;
    else if (rowNames.includes(part)) o.rows.add(part);
    else throw new Error(`unknown option --only-${part} (parts: ${[...PARTS, ...rowNames].join(", ")})`);
  };
  for (const [variable, name] of Object.entries(ENV)) {
    const value = env[variable];
    if (value !== undefined && value !== "") apply(o, name, value);
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--quick") continue;
    if (arg === "--help" || arg === "-h") o.help = true;
    else if (arg === "--no-echo") o.echo = false;
    else if (arg === "--no-scale") o.scale = false;
    else if (arg === "--no-forward") o.forward = false;
    else if (arg === "--no-tls") o.tls = false;
    else if (arg.startsWith("--only-")) select(arg.slice("--only-".length));
    else if (arg.startsWith("--no-") && rowNames.includes(arg.slice("--no-".length))) o.rows.delete(arg.slice("--no-".length));
    else if (arg === "--no-write") o.outDir = null;
    else if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
      const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined) throw new Error(`option --${name} needs a value`);
      apply(o, name, value);
    } else {
      throw new Error(`unexpected argument ${arg}`);
    }
  }
  return o;
}
