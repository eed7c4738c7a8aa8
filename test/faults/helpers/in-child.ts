// Runs a scenario in a child process, so that a crash (an abort, a segfault, a V8 fatal error)
// fails the test that caused it instead of taking the whole test runner down.
import assert from "node:assert/strict";
import { type ChildResult, LIBRARY_URL, runNode } from "../../helpers/child-process.js";

export { LIBRARY_URL };

/** Why a child's end is not a clean exit 0, or null when it is. */
export function crashReason(r: ChildResult): string | null {
  if (r.timedOut) return `timed out after ${r.elapsedMs} ms`;
  if (r.signal !== null) return `killed by ${r.signal}`;
  if (r.code !== 0) return `exit code ${r.code}`;
  return null;
}

/**
 * Runs `script` (an ES module as text; import the library from LIBRARY_URL) in a child with a
 * time bound and asserts that it exited 0 by itself. Resolves with what it printed.
 */
export async function runInChild(script: string, options: { args?: string[]; nodeFlags?: string[]; timeoutMs?: number } = {}): Promise<ChildResult> {
  const r = await runNode(script, { timeoutMs: 20_000, ...options });
  const reason = crashReason(r);
  assert.equal(reason, null, `the scenario's child did not exit cleanly: ${reason}\nstderr: ${r.stderr.slice(-2000)}\nstdout: ${r.stdout.slice(-500)}`);
  return r;
}
