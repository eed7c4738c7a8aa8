// The README's Layout table against the checkout: every directory and every module of src/ has a
// row, and every path a row names exists, so that the table cannot fall behind the code.
import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { REPO_ROOT } from "./helpers/packed.js";

/** Made by builds and installs, never in git. */
const MADE = new Set(["node_modules", "build", "build-asan", "dist", "prebuilds", ".git"]);

/** The paths named in the first column of the README's Layout table. */
function layoutPaths(): Set<string> {
  const readme = fs.readFileSync(path.join(REPO_ROOT, "README.md"), "utf8");
  const section = /^## Layout\n([\s\S]*?)(?=^## |(?![\s\S]))/m.exec(readme)?.[1];
  assert.ok(section !== undefined, "README.md has a '## Layout' section");
  const named = new Set<string>();
  for (const line of section.split("\n").filter((l) => l.startsWith("| `"))) {
    const first = line.split("|")[1]!;
    for (const [, p] of first.matchAll(/`([^`]+)`/g)) named.add(p!);
  }
  return named;
}

function dirs(rel: string): string[] {
  return fs.readdirSync(path.join(REPO_ROOT, rel), { withFileTypes: true })
    .filter((e) => e.isDirectory() && !MADE.has(e.name) && !e.name.startsWith(".work"))
    .map((e) => (rel === "." ? `${e.name}/` : `${rel}/${e.name}/`));
}

test("README Layout: a row for every directory and every module of src/", () => {
  const named = layoutPaths();
  // A top-level directory is covered by any row inside it (src/ by its modules' rows).
  const topMissing = dirs(".").filter((d) => d !== ".ci/" && ![...named].some((p) => p.startsWith(d)));
  const wanted = [
    ...["src", "test", "bench"].flatMap((d) => dirs(d)),
    ...fs.readdirSync(path.join(REPO_ROOT, "src")).filter((f) => f.endsWith(".ts")).map((f) => `src/${f}`),
  ];
  const missing = [...topMissing, ...wanted.filter((p) => !named.has(p))];
  assert.deepEqual(missing, [], `add these to the Layout table of README.md: ${missing.join(", ")}`);
  assert.ok(named.has(".ci/run"), "the CI script has its row");
});

test("README Layout: every path it names exists", () => {
  const stale = [...layoutPaths()].filter((p) => !MADE.has(p.replace(/\/$/, "")) && !fs.existsSync(path.join(REPO_ROOT, p)));
  assert.deepEqual(stale, [], `the Layout table of README.md names what is not there: ${stale.join(", ")}`);
});
