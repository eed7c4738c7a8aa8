// compactTraceback(): asyncore's one-line summary of where an error was thrown.

/** One stack frame: [file, function, line]. */
export type Frame = [file: string, func: string, line: string];

// "    at fn (file:line:col)", "    at file:line:col", "    at async fn (file:line:col)"
const FRAME = /^\s*at (?:async )?(?:(.*?) \()?(.*?):(\d+):\d+\)?$/;

function frames(err: unknown): Frame[] {
  let stack: unknown;
  try {
    stack = typeof err === "object" && err !== null ? (err as { stack?: unknown }).stack : undefined;
  } catch {
    return [];  // a throwing getter or Proxy: no frames, but never an error from the error report
  }
  if (typeof stack !== "string") return [];
  const out: Frame[] = [];
  for (const line of stack.split("\n")) {
    const m = FRAME.exec(line);
    if (m) out.push([m[2]!, m[1] ?? "<anonymous>", m[3]!]);
  }
  return out;
}

/**
 * [[file, func, line] of the innermost frame, error name, message, "[file|func|line] ..." with
 * the outermost frame first], as Python's compact_traceback() gives for the current exception.
 */
export function compactTraceback(err: unknown): [Frame, string, string, string] {
  const stack = frames(err);
  const innermost: Frame = stack[0] ?? ["?", "?", "?"];
  const info = stack.length ? [...stack].reverse().map(([f, fn, l]) => `[${f}|${fn}|${l}]`).join(" ") : "[?|?|?]";
  let name: string;
  let message: string;
  try {
    if (err instanceof Error) {
      name = String(err.name);
      message = String(err.message);
    } else {
      name = typeof err;
      message = String(err);
    }
  } catch {
    // Object.create(null), a throwing toString or getter, a Proxy: still report something.
    name = typeof err;
    message = `<unprintable ${typeof err}>`;
  }
  return [innermost, name, message, info];
}
