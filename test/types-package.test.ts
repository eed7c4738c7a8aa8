// The typings as a user gets them: the packed tarball installed into a strict consumer project
// (test/types-fixture: module nodenext, exactOptionalPropertyTypes, types: [], skipLibCheck off),
// which must compile ports of the documented programs without casts and refuse the misuse that
// misuse.ts marks (ts-expect-error); the published .d.ts name no internal member and have declaration maps.
import { before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { installTarball } from "./helpers/packed.js";
import { tmpDir } from "./helpers/tmpdir.js";

const run = promisify(execFile);
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const T = { timeout: 240_000 };
const FIXTURE = path.join(REPO_ROOT, "test/types-fixture");
// The repository's own compiler: the test needs no network.
const TSC = path.join(REPO_ROOT, "node_modules/typescript/bin/tsc");
const ENTRY_POINTS = ["dist/src/index.d.ts", "dist/src/asynchat.d.ts", "dist/src/tls.d.ts"];
// `_` names that are documented API (Python's asynchat helpers and its producer queue).
const DOCUMENTED_UNDERSCORE = new Set(["_producerFifo", "_collectIncomingData", "_getData"]);

let project = "";
let installed = "";

before(async () => {
  project = fs.mkdtempSync(path.join(tmpDir(), "consumer-"));
  await installTarball(project);
  // An ES module project (top-level await, and the package is ESM only), whatever the helper wrote.
  const manifestPath = path.join(project, "package.json");
  fs.writeFileSync(manifestPath, JSON.stringify({ ...JSON.parse(fs.readFileSync(manifestPath, "utf8")), type: "module" }, null, 2));
  installed = path.join(project, "node_modules/asyncore");
  // Node's types from the repository (a consumer has @types/node; the reference directive finds it).
  fs.mkdirSync(path.join(project, "node_modules/@types"), { recursive: true });
  fs.symlinkSync(path.join(REPO_ROOT, "node_modules/@types/node"), path.join(project, "node_modules/@types/node"), "dir");
  for (const name of fs.readdirSync(FIXTURE)) {
    if (name.endsWith(".ts") || name.endsWith(".json")) fs.copyFileSync(path.join(FIXTURE, name), path.join(project, name));
  }
});

/** Runs the repository's tsc on the consumer project: its diagnostics, "" when it compiles. */
async function compile(tsconfig = "tsconfig.json"): Promise<string> {
  try {
    await run(process.execPath, [TSC, "-p", path.join(project, tsconfig), "--pretty", "false"], { cwd: project, timeout: 180_000 });
    return "";
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    return `${e.stdout ?? ""}${e.stderr ?? ""}` || e.message;
  }
}

/** The .d.ts files reachable from the package's entry points (relative imports followed). */
function publishedDeclarations(): string[] {
  const seen = new Set<string>();
  const queue = ENTRY_POINTS.map((p) => path.join(installed, p));
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = fs.readFileSync(file, "utf8");
    for (const m of text.matchAll(/(?:from\s+|import\()\s*"(\.{1,2}\/[^"]+)\.js"/g)) queue.push(path.resolve(path.dirname(file), `${m[1]}.d.ts`));
  }
  return [...seen].sort();
}

describe("the packed package's typings, in a strict consumer project", () => {
  test("the documentation's echo server, HTTP client and chat server compile, and the marked misuse does not", T, async () => {
    assert.equal(await compile(), "");
  });

  test("the same programs compile with a bundler's resolution (module preserve, moduleResolution bundler)", T, async () => {
    assert.equal(await compile("tsconfig.bundler.json"), "");
  });

  test("the fixture's programs use no casts (`as` other than `as const`)", T, () => {
    for (const name of fs.readdirSync(FIXTURE).filter((n) => n.endsWith(".ts"))) {
      const text = fs.readFileSync(path.join(FIXTURE, name), "utf8").replace(/\/\/.*$/gm, "");  // code, not comments
      const casts = [...text.matchAll(/\bas\s+(?!const\b)[A-Za-z{[(]/g)].map((m) => m[0]);
      assert.deepEqual(casts, [], `${name} casts`);
    }
  });

  test("every @ts-expect-error line is needed: without the markers the misuse fails, once per line", T, async () => {
    const source = fs.readFileSync(path.join(FIXTURE, "misuse.ts"), "utf8");
    const marked = source.split("\n").filter((l) => l.trim().startsWith("// @ts-expect-error")).length;
    assert.ok(marked >= 10, `only ${marked} misuse lines`);
    fs.writeFileSync(path.join(project, "misuse-unmarked.ts"), source.replaceAll("// @ts-expect-error", "// (expected error)"));
    fs.writeFileSync(path.join(project, "tsconfig.unmarked.json"), JSON.stringify({ extends: "./tsconfig.json", include: ["misuse-unmarked.ts"] }));
    try {
      const out = await compile("tsconfig.unmarked.json");
      const errors = out.split("\n").filter((l) => /misuse-unmarked\.ts\(\d+,\d+\): error TS/.test(l));
      const lines = new Set(errors.map((l) => /\((\d+),/.exec(l)![1]));
      assert.equal(lines.size, marked, `one error per marked line:\n${out}`);
    } finally {
      fs.rmSync(path.join(project, "misuse-unmarked.ts"));
      fs.rmSync(path.join(project, "tsconfig.unmarked.json"));
    }
  });

  test("the published .d.ts name no internal member (no `_` state, no symbol hooks)", T, () => {
    const files = publishedDeclarations();
    assert.ok(files.length >= 10, `only ${files.length} declaration files reached`);
    const found: string[] = [];
    for (const file of files) {
      const text = fs.readFileSync(file, "utf8");
      for (const m of text.matchAll(/^\s+(?:readonly\s+|static\s+)*(_\w+|\[k[A-Z]\w*\])\??\s*[(:<]/gm)) {
        if (!DOCUMENTED_UNDERSCORE.has(m[1]!)) found.push(`${path.relative(installed, file)}: ${m[1]}`);
      }
      for (const m of text.matchAll(/\b(kPassState|kFlush|kTry\w+|kBuffered|kConnectNative|PassState|@internal)\b/g)) {
        found.push(`${path.relative(installed, file)}: ${m[1]}`);
      }
    }
    assert.deepEqual(found, []);
  });

  test("each entry point's .d.ts brings Node's types itself (/// <reference types=\"node\" />)", T, () => {
    for (const entry of ENTRY_POINTS) {
      assert.match(fs.readFileSync(path.join(installed, entry), "utf8"), /^\/\/\/ <reference types="node"/m, entry);
    }
  });

  test("declaration maps ship, and point at sources in the package", T, () => {
    for (const file of publishedDeclarations()) {
      const map = `${file}.map`;
      assert.ok(fs.existsSync(map), `${path.relative(installed, map)} is missing`);
      const { sources } = JSON.parse(fs.readFileSync(map, "utf8")) as { sources: string[] };
      for (const src of sources) {
        const target = path.resolve(path.dirname(map), src);
        assert.ok(fs.existsSync(target), `${path.relative(installed, map)} points at ${src}, not in the package`);
      }
    }
  });
});
