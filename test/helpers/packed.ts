// The package as users get it: used by the tests that install the packed tarball into a fresh
// project (the typings test, the install test). One `npm pack` per test process.
import { execFile } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { tmpDir } from "./tmpdir.js";

const run = promisify(execFile);

/** The repository's root (this file runs from dist/test/helpers/). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../..");

const NPM = process.platform === "win32" ? "npm.cmd" : "npm";
let packing: Promise<string> | null = null;

/**
 * `npm pack` of the repository (its compiled output must exist: npm test compiles first) into a
 * temporary directory, once per process; resolves with the .tgz path.
 */
export function packedTarball(): Promise<string> {
  packing ??= (async () => {
    if (!fs.existsSync(path.join(REPO_ROOT, "dist/src/index.js"))) throw new Error("dist/src is missing: run `npx tsc -p tsconfig.json` first");
    const dest = fs.mkdtempSync(path.join(tmpDir(), "pack-"));
    // --ignore-scripts: `prepare` would compile again; the output is already there.
    const { stdout } = await run(NPM, ["pack", "--ignore-scripts", "--json", "--pack-destination", dest], {
      cwd: REPO_ROOT, timeout: 120_000, maxBuffer: 16 * 1024 * 1024,
    });
    const [info] = JSON.parse(stdout) as { filename: string }[];
    if (info === undefined) throw new Error(`npm pack printed no file: ${stdout}`);
    return path.join(dest, info.filename);
  })();
  return packing;
}

/**
 * Makes `dir` a project that depends on the packed tarball (and on `extraDeps`, npm specs by name)
 * and installs it without running install scripts: from npm's cache (--offline), else from the registry.
 */
export async function installTarball(dir: string, extraDeps: Record<string, string> = {}): Promise<void> {
  const tarball = await packedTarball();
  fs.mkdirSync(dir, { recursive: true });
  const manifest = { name: "asyncore-consumer", version: "0.0.0", private: true, type: "module", dependencies: { asyncore: `file:${tarball}`, ...extraDeps } };
  fs.writeFileSync(path.join(dir, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  const args = ["install", "--ignore-scripts", "--no-audit", "--no-fund", "--no-package-lock"];
  const options = { cwd: dir, timeout: 180_000, maxBuffer: 16 * 1024 * 1024 };
  try {
    await run(NPM, [...args, "--offline"], options);
  } catch {
    await run(NPM, args, options);
  }
}
