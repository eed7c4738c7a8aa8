// Called by applications (Python's file_wrapper, file_dispatcher) and Dispatcher (its socket may be a
// FileWrapper): asyncore over a plain descriptor (a pipe, a terminal); reads go through src/receive.ts.
import { SOL_SOCKET, SO_ERROR } from "./constants.js";
import { type SocketMap } from "./loop.js";
import { Dispatcher } from "./dispatcher.js";
import { closedError, systemError } from "./errors.js";
import { binding } from "./native.js";
import { closeFd } from "./poller.js";
import { MAX_RECEIVE, readExact, readView } from "./receive.js";
import { type Transport, checkBytes, checkInt, kBuffered, kTryRecv, kTrySend } from "./socket.js";

const unclosed = new FinalizationRegistry<number>((fd) => {
  closeFd(fd);
  process.emitWarning(`unclosed file fd=${fd}: a FileWrapper was garbage-collected while open`, "ResourceWarning");
});

/** A socket-like object over a dup() of a descriptor, so that closing it leaves the original open. */
export class FileWrapper implements Transport {
  /** The duplicated descriptor; -1 once closed. */
  fd: number;

  constructor(fd: number) {
    checkInt(fd, "fd");
    const r = binding.dup(fd);
    if (r < 0) throw systemError(r, "dup");
    this.fd = r;
    unclosed.register(this, r, this);
  }

  #open(syscall: string): number {
    if (this.fd < 0) throw closedError(syscall);
    return this.fd;
  }

  recv(n: number): Buffer {
    return this.read(n);
  }

  read(n: number): Buffer {
    const r = readExact(this.#open("read"), checkInt(n, "bufferSize"));
    if (typeof r === "number") throw systemError(r, "read");
    return r;
  }

  send(data: Uint8Array): number {
    return this.write(data);
  }

  write(data: Uint8Array): number {
    const r = binding.write(this.#open("write"), checkBytes(data));
    if (r < 0) throw systemError(r, "write");
    return r;
  }

  /** Only SO_ERROR is known (always 0): a file has no pending socket error. */
  getsockopt(level: number, option: number): number {
    checkInt(level, "level");
    checkInt(option, "option");
    if (level === SOL_SOCKET && option === SO_ERROR) return 0;
    throw new Error("FileWrapper.getsockopt() supports only SOL_SOCKET/SO_ERROR");
  }

  /** Closes the duplicate once; a second close does nothing (it never closes another descriptor). */
  close(): void {
    const fd = this.fd;
    if (fd < 0) return;
    this.fd = -1;
    unclosed.unregister(this);
    const r = closeFd(fd);
    if (r < 0) throw systemError(r, "close");
  }

  fileno(): number {
    return this.fd;
  }

  /** @internal */
  [kTrySend](data: Uint8Array): number {
    return this.fd < 0 ? closedError("write").errno : binding.write(this.fd, data);
  }

  /** @internal */
  [kTryRecv](n: number): Buffer | number {
    return this.fd < 0 ? closedError("read").errno : readView(this.fd, Math.min(n, MAX_RECEIVE));
  }

  /** @internal */
  [kBuffered](): number {
    return 0;  // files are read exactly as asked
  }
}

type FileLike = number | { fileno(): number } | { fd: number };

function toFd(file: FileLike): number {
  if (typeof file === "number") return file;
  if (typeof file === "object" && file !== null) {
    if (typeof (file as { fileno?: unknown }).fileno === "function") return (file as { fileno(): number }).fileno();
    if (typeof (file as { fd?: unknown }).fd === "number") return (file as { fd: number }).fd;
  }
  throw new TypeError("FileDispatcher takes a descriptor, or an object with fileno() or fd");
}

/** A Dispatcher over a plain descriptor (made non-blocking). */
export class FileDispatcher extends Dispatcher<FileWrapper> {
  constructor(fd: FileLike, map?: SocketMap) {
    super(null, map);
    this.connected = true;
    const n = checkInt(toFd(fd), "fd");
    this.setFile(n);
    const r = binding.setBlocking(n, false);
    if (r < 0) throw systemError(r, "fcntl");
  }

  setFile(fd: number): void {
    const wrapper = new FileWrapper(fd);
    this.socket = wrapper;
    this._fileno = wrapper.fd;
    this.addChannel();
  }
}
