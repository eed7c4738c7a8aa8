// Files under a root directory for the static file server (examples/http-server.ts): a URL path
// confined to the root (no "..", no symbolic link out of it), and the body of a file as an
// asynchat producer that reads it a chunk at a time, so that no file is ever held whole.
import fs from "node:fs";
import path from "node:path";
import type { Producer } from "../asynchat.js";
import { HttpError } from "./request.js";

const EMPTY = Buffer.alloc(0);
// O_NONBLOCK: a FIFO put under the root must not block the loop in open() (it is refused after).
// O_NOFOLLOW: the path was resolved already; a link put there since is not followed.
const OPEN_FLAGS = fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOFOLLOW;

/** A regular file found under the root. */
export interface FoundFile {
  kind: "file";
  /** Its real path (links resolved; inside the root). */
  path: string;
  size: number;
  mtimeMs: number;
}

/** A directory asked for without its final "/": the answer is a redirect to that. */
export interface FoundDirectory {
  kind: "directory";
}

/** The root as the server compares paths against it: absolute, links resolved. Throws if it is no directory. */
export function realRoot(root: string): string {
  const real = fs.realpathSync.native(path.resolve(root));
  if (!fs.statSync(real).isDirectory()) throw new Error(`${root} is not a directory`);
  return real;
}

/** Is `real` the root or under it? */
function inside(root: string, real: string): boolean {
  return real === root || (real.startsWith(root) && real[root.length] === "/") || root === "/";
}

function notFound(why: string): HttpError {
  return new HttpError(404, why);
}

/** realpath() of `p`, inside the root; a missing file or a link out of the root is a 404. */
function resolveInside(root: string, p: string): string {
  let real: string;
  try {
    real = fs.realpathSync.native(p);
  } catch (err) {
    throw fileError(err);
  }
  if (!inside(root, real)) throw notFound(`${p} resolves outside the root`);
  return real;
}

/** A failed file system call as the client sees it: 403 for a permission, 404 for the rest. */
function fileError(err: unknown): HttpError {
  const code = (err as { code?: unknown }).code;
  if (code === "EACCES" || code === "EPERM") return new HttpError(403, String((err as Error).message));
  return notFound(String((err as Error).message));
}

function statOf(real: string): fs.Stats {
  try {
    return fs.statSync(real);
  } catch (err) {
    throw fileError(err);
  }
}

/**
 * The file a decoded URL path names under `root` (a realRoot()). A ".." segment is a 400 (clients
 * remove them before sending; one that arrives is an attempt to leave the root); a path that does
 * not exist, resolves outside the root through a link, or is no regular file is a 404; a
 * directory is its index.html (404 without one), or a FoundDirectory when `urlPath` lacks its
 * final "/".
 */
export function findFile(root: string, urlPath: string): FoundFile | FoundDirectory {
  const parts: string[] = [];
  for (const part of urlPath.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") throw new HttpError(400, "'..' in the path");
    parts.push(part);
  }
  let real = resolveInside(root, parts.length === 0 ? root : `${root}/${parts.join("/")}`);
  let st = statOf(real);
  if (st.isDirectory()) {
    if (!urlPath.endsWith("/")) return { kind: "directory" };
    real = resolveInside(root, `${real}/index.html`);
    st = statOf(real);
    if (!st.isFile()) throw notFound(`${real} is not a regular file`);
    return { kind: "file", path: real, size: st.size, mtimeMs: st.mtimeMs };
  }
  if (!st.isFile()) throw notFound(`${real} is not a regular file`);
  if (urlPath.endsWith("/")) throw notFound(`${real} is a file, not a directory`);
  return { kind: "file", path: real, size: st.size, mtimeMs: st.mtimeMs };
}

/**
 * A file's body as a producer: `prefix` (the response head) and then exactly `size` bytes of the
 * file, `chunk` bytes per more() (a piece is valid until the next more(), which AsyncChat calls
 * once the piece is sent: pushWithProducer() it to an AsyncChat whose acOutBufferSize is `chunk`). The file is opened at the first more(), so that answers queued
 * behind others (pipelined requests) hold no descriptor, and closed at its end or by close().
 * A file that is gone or shorter than `size` by then cannot keep the promise of the head:
 * `onError` is called (the channel closes the connection) and the producer ends.
 */
export class FileBody implements Producer {
  #fd = -1;
  #left: number;
  #prefix: Buffer | null;
  #buf: Buffer | null = null;

  constructor(
    readonly path: string,
    size: number,
    prefix: Buffer,
    readonly chunk: number,
    readonly onError: (err: Error) => void,
  ) {
    this.#left = size;
    this.#prefix = prefix;
  }

  more(): Uint8Array {
    const prefix = this.#prefix;
    if (prefix === null && this.#left === 0) return EMPTY;
    try {
      if (this.#fd < 0 && this.#left > 0) this.#fd = fs.openSync(this.path, OPEN_FLAGS);
      const want = Math.min(this.#left, this.chunk);
      let buf: Buffer;
      let start = 0;
      if (prefix !== null) {
        // The first piece carries the head: head and a small file leave in one send.
        buf = Buffer.allocUnsafe(prefix.length + want);
        prefix.copy(buf);
        start = prefix.length;
        this.#prefix = null;
      } else {
        // AsyncChat asks again only once the last piece is sent: one buffer serves every later piece.
        this.#buf ??= Buffer.allocUnsafe(this.chunk);
        buf = this.#buf.subarray(0, want);
      }
      let got = 0;
      while (got < want) {
        const n = fs.readSync(this.#fd, buf, start + got, want - got, null);
        if (n === 0) throw new Error(`${this.path} is shorter than when its answer began (${this.#left - got} bytes missing)`);
        got += n;
      }
      this.#left -= want;
      if (this.#left === 0) this.close();
      return buf;
    } catch (err) {
      this.close();
      this.#left = 0;
      this.#prefix = null;
      this.onError(err instanceof Error ? err : new Error(String(err)));
      return EMPTY;
    }
  }

  /** Closes the file (idempotent): the channel calls it when it closes with the body unsent. */
  close(): void {
    if (this.#fd >= 0) {
      const fd = this.#fd;
      this.#fd = -1;
      fs.closeSync(fd);
    }
  }
}
