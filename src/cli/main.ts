#!/usr/bin/env node
// The `asyncore` command: the documentation's example programs, runnable from a shell.
//   asyncore <command> [options]      asyncore <command> --help      asyncore --help
// Exit codes: 0 success, 1 failure while running, 2 bad usage (one line on stderr).
import fs from "node:fs";
import { chatClient } from "./chat-client.js";
import { chatServer } from "./chat-server.js";
import { echoClient } from "./echo-client.js";
import { echoServer } from "./echo-server.js";
import { forward } from "./forward.js";
import { httpGet } from "./http-get.js";
import { httpServer } from "./http-server.js";
import { describeError, logToStderr } from "./report.js";
import { type Command, CommandError, UsageError, wantsHelp } from "./usage.js";

const COMMANDS: readonly Command[] = [echoServer, echoClient, httpGet, forward, chatServer, chatClient, httpServer];

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
    const command = named === undefined ? undefined : COMMANDS.find((c) => c.name === named);
    if (named !== undefined && command === undefined) throw new UsageError(`unknown command '${named}'`, null);
    process.stdout.write(command?.help ?? globalHelp());
    return 0;
  }
  if (first === "--version" || first === "-V") {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  if (first.startsWith("-")) throw new UsageError(`unknown option '${first}'`, null);
  const command = COMMANDS.find((c) => c.name === first);
  if (command === undefined) throw new UsageError(`unknown command '${first}'`, null);
  if (wantsHelp(rest)) {
    process.stdout.write(command.help);
    return 0;
  }
  logToStderr(command.name);
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError || err instanceof CommandError) throw err;
    // Anything unexpected still ends in one line that says which command failed.
    throw new CommandError(describeError(err));
  }
}

function fail(line: string, code: number): void {
  process.stderr.write(`${line.replace(/\s*\n\s*/g, " ")}\n`);
  process.exitCode = code;
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (err: unknown) => {
    if (err instanceof UsageError) {
      fail(`asyncore: ${err.message} (see 'asyncore ${err.command === null ? "" : `${err.command} `}--help')`, 2);
    } else if (err instanceof CommandError) {
      const command = process.argv[2] ?? "";
      fail(`asyncore: ${command}: ${err.message}`, 1);
    } else {
      fail(`asyncore: ${describeError(err)}`, 1);
    }
  },
);
