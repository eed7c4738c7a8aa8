// A private temporary directory per test process, removed when the process exits.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

let dir: string | null = null;
let counter = 0;

export function tmpDir(): string {
  if (dir === null) {
    const made = fs.mkdtempSync(path.join(os.tmpdir(), "asyncore-test-"));
    dir = made;
    process.on("exit", () => fs.rmSync(made, { recursive: true, force: true }));
  }
  return dir;
}

/** A fresh path in the temporary directory (nothing is created there). */
export function tmpPath(name = "file"): string {
  counter++;
  return path.join(tmpDir(), `${name}-${process.pid}-${counter}`);
}

/** Removes `file` if it exists. */
export function unlinkQuietly(file: string): void {
  fs.rmSync(file, { force: true });
}
