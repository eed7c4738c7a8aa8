// Captures what the code under test writes through process.stdout.write / process.stderr.write
// (Dispatcher.log and logInfo look those up at call time). Synchronous on purpose: the test
// runner reports through stdout too, so the capture must never span an await.

export interface Captured { stdout: string; stderr: string }

type Write = typeof process.stdout.write;

export function captureOutput(fn: () => void): Captured {
  const out: Captured = { stdout: "", stderr: "" };
  const savedOut = process.stdout.write;
  const savedErr = process.stderr.write;
  const collect = (key: keyof Captured): Write =>
    ((chunk: string | Uint8Array): boolean => {
      out[key] += typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8");
      return true;
    }) as Write;
  process.stdout.write = collect("stdout");
  process.stderr.write = collect("stderr");
  try {
    fn();
  } finally {
    process.stdout.write = savedOut;
    process.stderr.write = savedErr;
  }
  return out;
}

/** The captured text split into lines, without the empty string after a final newline. */
export function lines(text: string): string[] {
  const all = text.split("\n");
  if (all[all.length - 1] === "") all.pop();
  return all;
}
