// The package as a user gets it, for the tests that install it (test/package-*.test.ts, the typings
// test): `npm pack` of this checkout, prebuilt addon included, installed into a fresh project.
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The checkout's root (this file runs from dist/test/helpers/). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

/** npm and the compiler may be slow on a loaded machine: generous bounds, still bounded. */
const NPM_TIMEOUT_MS = 240_000;

async function npm(args: readonly string[], cwd: string): Promise<string> {
  try {
    const { stdout } = await run("npm", [...args], { cwd, timeout: NPM_TIMEOUT_MS, maxBuffer: 16 << 20, env: { ...process.env, npm_config_loglevel: "error" } });
    return stdout;
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`npm ${args.join(" ")} failed in ${cwd}: ${e.message}\n${e.stderr ?? ""}`);
  }
}

/** The prebuilt addon for this platform in the checkout's prebuilds/, or null. */
export function prebuiltAddon(): string | null {
  const dir = path.join(REPO_ROOT, "prebuilds", `${process.platform}-${process.arch}`);
  const file = fs.existsSync(dir) ? fs.readdirSync(dir).find((name) => name.endsWith(".node")) : undefined;
  return file === undefined ? null : path.join(dir, file);
}

let packing: Promise<string> | null = null;

/**
 * Packs the checkout once per process into a temporary directory (removed at exit) and returns the
 * .tgz. The compiled TypeScript must exist (`npm test` compiles first); a missing prebuilt addon is
 * built first (`npm run prebuild`, as .ci/run does), so that the tarball carries one.
 */
export function packedTarball(): Promise<string> {
  packing ??= (async () => {
    if (!fs.existsSync(path.join(REPO_ROOT, "dist/src/index.js"))) {
      throw new Error("dist/ is missing: compile first (npx tsc -p tsconfig.json)");
    }
    if (prebuiltAddon() === null) await npm(["run", "prebuild"], REPO_ROOT);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "asyncore-pack-"));
    process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
    // --ignore-scripts: the checkout is built already; prepack would compile the addon again.
    const out = await npm(["pack", "--ignore-scripts", "--json", "--pack-destination", dir], REPO_ROOT);
    const [info] = JSON.parse(out) as [{ filename: string }];
    return path.join(dir, info.filename);
  })();
  return packing;
}

/**
 * Makes `dir` a project that depends on the packed tarball (and `extraDeps`, name → version) and
 * installs it the way a machine without a compiler would: `--ignore-scripts`, so the addon can only
 * come from the tarball's prebuilds/. Offline from npm's cache first; from the registry if that fails.
 */
export async function installTarball(dir: string, extraDeps: Record<string, string> = {}): Promise<void> {
  const tarball = await packedTarball();
  fs.mkdirSync(dir, { recursive: true });
  const pkg = { name: "asyncore-consumer", version: "1.0.0", private: true, dependencies: { asyncore: `file:${tarball}`, ...extraDeps } };
  fs.writeFileSync(path.join(dir, "package.json"), `${JSON.stringify(pkg, null, 2)}\n`);
  const args = ["install", "--ignore-scripts", "--no-audit", "--no-fund"];
  try {
    await npm([...args, "--offline"], dir);
  } catch {
    await npm(args, dir);
  }
}
