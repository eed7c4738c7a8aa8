// docs/api.md stays true to the code: its "Every export" lists equal the entry points' exports
// (values at run time, types from the compiler), every command and flag of the CLI is in its
// table, and its TypeScript blocks compile against the built typings, the classes and functions
// they declare being ones the real exports satisfy.
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import ts from "typescript";
import { tmpDir } from "./helpers/tmpdir.js";

const run = promisify(execFile);
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const T = { timeout: 120_000 };
const API_MD = fs.readFileSync(path.join(REPO_ROOT, "docs/api.md"), "utf8");
const ENTRY_POINTS = [
  { spec: "asyncore", file: "dist/src/index" },
  { spec: "asyncore/asynchat", file: "dist/src/asynchat" },
  { spec: "asyncore/tls", file: "dist/src/tls" },
  { spec: "asyncore/smtp", file: "dist/src/smtp/server" },
] as const;
const CLI = path.join(REPO_ROOT, "dist/src/cli/main.js");

/** The text of the `##`/`###` section whose heading is `heading`, up to the next heading of its level or above. */
function section(markdown: string, heading: string): string {
  const lines = markdown.split("\n");
  const start = lines.findIndex((l) => l.replace(/^#+\s*/, "") === heading && l.startsWith("#"));
  assert.ok(start >= 0, `docs/api.md has no section "${heading}"`);
  const level = /^#+/.exec(lines[start]!)![0].length;
  const end = lines.findIndex((l, i) => i > start && /^#+ /.test(l) && /^#+/.exec(l)![0].length <= level);
  return lines.slice(start + 1, end < 0 ? undefined : end).join("\n");
}

/** Backticked names on the list lines of `text` whose label matches `label`. */
function listed(text: string, label: RegExp): Set<string> {
  const names = new Set<string>();
  for (const line of text.split("\n")) {
    const m = /^- ([^:]+):(.*)$/.exec(line);
    if (m === null || !label.test(m[1]!)) continue;
    for (const n of m[2]!.matchAll(/`([A-Za-z_$][\w$]*)`/g)) names.add(n[1]!);
  }
  return names;
}

/** The entry point's exports split by the compiler into values and types (type-only names). */
function declaredExports(): Map<string, { values: Set<string>; types: Set<string> }> {
  const files = ENTRY_POINTS.map((e) => path.join(REPO_ROOT, `${e.file}.d.ts`));
  const program = ts.createProgram(files, {
    module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, noEmit: true,
    types: ["node"], typeRoots: [path.join(REPO_ROOT, "node_modules/@types")],
  });
  const checker = program.getTypeChecker();
  const out = new Map<string, { values: Set<string>; types: Set<string> }>();
  for (const [i, e] of ENTRY_POINTS.entries()) {
    const source = program.getSourceFile(files[i]!);
    assert.ok(source, `${files[i]} is missing: build first`);
    const moduleSymbol = checker.getSymbolAtLocation(source);
    assert.ok(moduleSymbol);
    const entry = { values: new Set<string>(), types: new Set<string>() };
    for (const sym of checker.getExportsOfModule(moduleSymbol)) {
      const target = sym.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(sym) : sym;
      (target.flags & ts.SymbolFlags.Value ? entry.values : entry.types).add(sym.name);
    }
    out.set(e.spec, entry);
  }
  return out;
}

const sorted = (s: Iterable<string>): string[] => [...s].sort();

describe("docs/api.md lists every export", () => {
  const declared = declaredExports();
  const every = section(API_MD, "Every export");

  for (const e of ENTRY_POINTS) {
    test(`${e.spec}: the documented values are the module's run-time exports, and the documented types its type exports`, T, async () => {
      const part = section(every, `\`${e.spec}\``);
      const documentedValues = listed(part, /^(?!Types$)/);
      const documentedTypes = listed(part, /^Types$/);
      const runtime = new Set(Object.keys(await import(path.join(REPO_ROOT, `${e.file}.js`))));
      assert.deepEqual(sorted(documentedValues), sorted(runtime), "values: documented vs exported at run time");
      assert.deepEqual(sorted(documentedValues), sorted(declared.get(e.spec)!.values), "values: documented vs declared");
      assert.deepEqual(sorted(documentedTypes), sorted(declared.get(e.spec)!.types), "types: documented vs declared");
    });
  }

  test("every documented export is also described outside the list (a signature, a table row or the text)", T, () => {
    const rest = API_MD.replace(every, "");
    const missing: string[] = [];
    for (const entry of declared.values()) {
      for (const name of [...entry.values, ...entry.types]) {
        if (!new RegExp(`\\b${name.replace(/\$/g, "\\$")}\\b`).test(rest)) missing.push(name);
      }
    }
    assert.deepEqual(missing, []);
  });
});

// ---- the command line ----------------------------------------------------------------------

/** The commands `asyncore --help` lists. */
async function commands(): Promise<string[]> {
  const { stdout } = await run(process.execPath, [CLI, "--help"], { timeout: 30_000 });
  const block = stdout.split(/^Commands:\s*$/m)[1]!.split(/^\S/m)[0]!;
  return [...block.matchAll(/^ {2}([a-z][\w-]*)\s/gm)].map((m) => m[1]!);
}

/** The options a command's `--help` lists (long and short forms). */
async function flags(command: string): Promise<string[]> {
  const { stdout } = await run(process.execPath, [CLI, command, "--help"], { timeout: 30_000 });
  const options = stdout.split(/^Options:\s*$/m)[1] ?? "";
  const found = new Set<string>();
  for (const line of options.split("\n")) {
    const head = /^\s+(-[^ ].*?)(?:\s{2,}|$)/.exec(line);
    if (head === null) continue;
    for (const f of head[1]!.matchAll(/(?:^|[\s,])(--?[A-Za-z][\w-]*)/g)) found.add(f[1]!);
  }
  return [...found];
}

/** What docs/api.md says about `command`: its rows in the CLI table, and any section headed with it. */
function documentation(command: string): string {
  const parts: string[] = [];
  for (const line of section(API_MD, "Command line: `asyncore`").split("\n")) {
    const first = /^\|\s*`([a-z][\w-]*)/.exec(line);
    if (first?.[1] === command) parts.push(line);
  }
  const lines = API_MD.split("\n");
  lines.forEach((l, i) => {
    if (/^#+ /.test(l) && new RegExp(`\`(?:asyncore )?${command}\\b`).test(l)) parts.push(section(API_MD, lines[i]!.replace(/^#+\s*/, "")));
  });
  return parts.join("\n");
}

describe("docs/api.md lists every command and flag of the CLI", () => {
  let names: string[] = [];
  before(async () => {
    names = await commands();
  });

  test("the global help lists commands, and the table has a row for each (and none for a command that does not exist)", T, async () => {
    assert.ok(names.length >= 6, `commands: ${names.join(", ")}`);
    const rows = [...section(API_MD, "Command line: `asyncore`").matchAll(/^\|\s*`([a-z][\w-]*)/gm)].map((m) => m[1]!).filter((n) => n !== "command");
    for (const name of names) assert.ok(documentation(name) !== "", `${name} is not documented`);
    for (const row of rows) assert.ok(names.includes(row), `the table documents "${row}", which asyncore --help does not list`);
  });

  test("each command's options (from its --help) are named in its documentation", T, async () => {
    const missing: string[] = [];
    for (const name of names) {
      const doc = documentation(name);
      for (const flag of await flags(name)) {
        if (flag === "-h" || flag === "--help") continue;  // every command has them (said once above the table)
        const shown = new RegExp(`\`[^\`]*(?<![\\w-])${flag}(?![\\w-])[^\`]*\``);
        if (!shown.test(doc)) missing.push(`${name} ${flag}`);
      }
    }
    assert.deepEqual(missing, []);
  });
});

// ---- the TypeScript blocks -------------------------------------------------------------------

interface Block { line: number; code: string }

function tsBlocks(markdown: string): Block[] {
  const blocks: Block[] = [];
  const re = /^```ts\n([\s\S]*?)^```$/gm;
  for (const m of markdown.matchAll(re)) blocks.push({ line: markdown.slice(0, m.index).split("\n").length, code: m[1]! });
  return blocks;
}

/** Names a block declares at its top level. */
function declaredNames(code: string): string[] {
  return [...code.matchAll(/^(?:export\s+)?(?:declare\s+)?(?:abstract\s+)?(class|interface|type|function|const|let|enum)\s+([A-Za-z_$][\w$]*)/gm)]
    .map((m) => m[2]!);
}

describe("docs/api.md's TypeScript blocks compile under the repository's tsconfig", () => {
  test("each block compiles; the classes, functions and types it declares are satisfied by the real exports", T, async () => {
    const declared = declaredExports();
    const home = new Map<string, string>();  // export name -> entry point
    for (const [spec, entry] of declared) for (const n of [...entry.values, ...entry.types]) if (!home.has(n)) home.set(n, spec);
    const dir = fs.mkdtempSync(path.join(tmpDir(), "api-blocks-"));
    fs.mkdirSync(path.join(dir, "node_modules/@types"), { recursive: true });
    fs.symlinkSync(REPO_ROOT, path.join(dir, "node_modules/asyncore"), "dir");  // the package, as installed
    fs.symlinkSync(path.join(REPO_ROOT, "node_modules/@types/node"), path.join(dir, "node_modules/@types/node"), "dir");
    fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ name: "api-blocks", private: true, type: "module" }));
    const blocks = tsBlocks(API_MD);
    assert.ok(blocks.length >= 8, `only ${blocks.length} blocks`);
    const files: string[] = [];
    let checks = 0;
    for (const [i, b] of blocks.entries()) {
      const own = new Set(declaredNames(b.code));
      let prelude = "";
      if (!/^import\s/m.test(b.code)) {
        // A signature block uses the other names of the API unimported: bring them in from their entry point.
        for (const e of ENTRY_POINTS) {
          const names = [...declared.get(e.spec)!.values, ...declared.get(e.spec)!.types].filter((n) => !own.has(n) && home.get(n) === e.spec);
          if (names.length > 0) prelude += `import { ${names.join(", ")} } from "${e.spec}";\n`;
        }
      }
      // What the block declares must be what the package has: the real export must be assignable to it.
      let conformance = "";
      for (const name of own) {
        const spec = home.get(name);
        if (spec === undefined) continue;
        const isType = declared.get(spec)!.types.has(name);
        const isClass = new RegExp(`^(?:declare\\s+)?class\\s+${name}\\b`, "m").test(b.code);
        const isInterfaceOrType = new RegExp(`^(?:interface|type)\\s+${name}\\b`, "m").test(b.code);
        if (isClass) conformance += `export const __instance_${name}: ${name} = null as unknown as import("${spec}").${name};\n`;
        else if (isType || isInterfaceOrType) conformance += `export const __type_${name}: ${name} = null as unknown as import("${spec}").${name};\n`;
        else conformance += `export const __value_${name}: typeof ${name} = null as unknown as typeof import("${spec}").${name};\n`;
        checks++;
      }
      const file = path.join(dir, `block-${String(i + 1).padStart(2, "0")}-line-${b.line}.mts`);
      fs.writeFileSync(file, `${prelude}${b.code}\n${conformance}export {};\n`);
      files.push(path.basename(file));
    }
    assert.ok(checks >= 15, `only ${checks} declarations compared with the real exports`);
    fs.writeFileSync(path.join(dir, "tsconfig.json"), JSON.stringify({
      extends: path.join(REPO_ROOT, "tsconfig.json"),
      // Signature blocks declare without using: the unused-name checks are lint, not types.
      compilerOptions: { noEmit: true, rootDir: ".", noUnusedLocals: false, noUnusedParameters: false },
      include: [], files,
    }));
    const tsc = path.join(REPO_ROOT, "node_modules/typescript/bin/tsc");
    let output = "";
    try {
      await run(process.execPath, [tsc, "-p", dir, "--pretty", "false"], { cwd: dir, timeout: 90_000 });
    } catch (err) {
      output = `${(err as { stdout?: string }).stdout ?? ""}${(err as { stderr?: string }).stderr ?? ""}` || String(err);
    }
    assert.equal(output, "", "(block-NN-line-L.mts: L is the block's line in docs/api.md)");
  });
});
