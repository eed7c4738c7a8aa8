#!/usr/bin/env node
// The `asyncore` command: the documentation's example programs, runnable from a shell.
//   asyncore <command> [options]      asyncore <command> --help      asyncore --help
// Exit codes: 0 success, 1 failure while running, 2 bad usage (one line on stderr).
// Only the command table and usage.ts load up front: the commands (and report.ts) import the library,
// which loads the native addon, so `--help` and `--version` work even where the addon is missing.
import fs from "node:fs";
import { COMMANDS } from "./commands.js";
import { CommandError, UsageError, wantsHelp } from "./usage.js";

function globalHelp(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `Usage: asyncore <command> [options]

The example programs of Python's asyncore documentation, on asyncore for Node.js.

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}   ${c.summary}`).join("\n")}

Options:
  -h, --help      show this help ('asyncore <command> --help' for a command's options)
  -V, --version   show the version
`;
}

function version(): string {
  const pkg = new URL("../../../package.json", import.meta.url);
  return (JSON.parse(fs.readFileSync(pkg, "utf8")) as { version: string }).version;
}

async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) throw new UsageError("missing command", null);
  if (first === "--help" || first === "-h" || first === "help") {
    const named = first === "help" ? rest[0] : undefined;
    const entry = named === undefined ? undefined : COMMANDS.find((c) => c.name === named);
    if (named !== undefined && entry === undefined) throw new UsageError(`unknown command '${named}'`, null);
    process.stdout.write(entry === undefined ? globalHelp() : (await entry.load()).help);
    return 0;
  }
  if (first === "--version" || first === "-V") {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  if (first.startsWith("-")) throw new UsageError(`unknown option '${first}'`, null);
  const entry = COMMANDS.find((c) => c.name === first);
  if (entry === undefined) throw new UsageError(`unknown command '${first}'`, null);
  const command = await entry.load();
  if (wantsHelp(rest)) {
    process.stdout.write(command.help);
    return 0;
  }
  const { describeError, logToStderr } = await import("./report.js");
  logToStderr(command.name);
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError || err instanceof CommandError) throw err;
    // Anything unexpected still ends in one line that says which command failed.
    throw new CommandError(describeError(err));
  }
}

/** One line for an error that escaped: the addon's own sentence as it is, anything else described. */
async function describeFailure(err: unknown): Promise<string> {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === "string" && code.startsWith("ERR_ASYNCORE_ADDON_")) return (err as Error).message;
  const { describeError } = await import("./report.js");
  return `asyncore: ${describeError(err)}`;
}

function fail(line: string, code: number): void {
  process.stderr.write(`${line.replace(/\s*\n\s*/g, " ")}\n`);
  process.exitCode = code;
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  async (err: unknown) => {
    if (err instanceof UsageError) {
      fail(`asyncore: ${err.message} (see 'asyncore ${err.command === null ? "" : `${err.command} `}--help')`, 2);
    } else if (err instanceof CommandError) {
      const command = process.argv[2] ?? "";
      fail(`asyncore: ${command}: ${err.message}`, 1);
    } else {
      fail(await describeFailure(err), 1);
    }
  },
);
