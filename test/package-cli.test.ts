// The command table of `asyncore` (src/cli/commands.ts), which lets --help run without the addon:
// each entry loads the command it names, with the summary the module itself gives, and every
// command module under src/cli/ has its entry.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import { COMMANDS } from "../src/cli/commands.js";
import type { Command } from "../src/cli/usage.js";

function isCommand(value: unknown): value is Command {
  const c = value as Partial<Command> | null;
  return typeof c === "object" && c !== null && typeof c.name === "string" && typeof c.help === "string" && typeof c.run === "function";
}

test("each table entry loads its command, with the module's own summary", { timeout: 30_000 }, async () => {
  assert.equal(new Set(COMMANDS.map((c) => c.name)).size, COMMANDS.length, "no name twice");
  for (const entry of COMMANDS) {
    const command = await entry.load();
    assert.equal(command.name, entry.name);
    assert.equal(command.summary, entry.summary, `${entry.name}: the table's summary is the module's`);
  }
});

test("every command module under src/cli/ is in the table", { timeout: 30_000 }, async () => {
  const dir = new URL("../src/cli/", import.meta.url);
  const names = new Set(COMMANDS.map((c) => c.name));
  const found = new Set<string>();
  // Only the modules whose declarations export a Command are imported: another module (a worker's
  // entry, main.ts itself) may do its work on import.
  const declaresCommand = (file: string): boolean =>
    /^export declare const \w+: Command;$/m.test(fs.readFileSync(new URL(file.replace(/\.js$/, ".d.ts"), dir), "utf8"));
  for (const file of fs.readdirSync(dir).filter((f) => f.endsWith(".js") && f !== "main.js" && declaresCommand(f))) {
    const module = await import(new URL(file, dir).href) as Record<string, unknown>;
    for (const value of Object.values(module).filter(isCommand)) {
      assert.ok(names.has(value.name), `src/cli/${file.replace(/\.js$/, ".ts")} exports the command '${value.name}': add it to COMMANDS in src/cli/commands.ts`);
      found.add(value.name);
    }
  }
  assert.deepEqual([...found].sort(), [...names].sort(), "each table entry has its module among those found");
});
