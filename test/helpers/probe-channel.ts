// A bare Channel (not a Dispatcher) over a Socket, for tests of the loop itself: it counts the
// loop's readable()/writable() calls, logs every handler call as "<name>.<event>" in a shared
// list, and runs optional hooks. Errors reaching handleError are rethrown unless a hook takes them,
// so an unexpected error fails the loop and the test.
import type { Channel, Socket, SocketMap } from "../../src/index.js";

export type Event = "read" | "write" | "expt" | "close" | "error";

export class ProbeChannel implements Channel {
  accepting = false;
  wantRead = true;
  wantWrite = true;
  readableCalls = 0;
  writableCalls = 0;
  readonly fd: number;
  hooks: Partial<Record<Event, (arg?: unknown) => void>> = {};

  constructor(readonly name: string, readonly sock: Socket, readonly map: SocketMap, readonly log: string[]) {
    this.fd = sock.fileno();
    map.set(this.fd, this);
  }

  readable(): boolean {
    this.readableCalls++;
    return this.wantRead;
  }

  writable(): boolean {
    this.writableCalls++;
    return this.wantWrite;
  }

  #event(event: Event, arg?: unknown): void {
    this.log.push(`${this.name}.${event}`);
    this.hooks[event]?.(arg);
  }

  handleReadEvent(): void { this.#event("read"); }
  handleWriteEvent(): void { this.#event("write"); }
  handleExptEvent(): void { this.#event("expt"); }
  handleClose(): void { this.#event("close"); }

  handleError(err: unknown): void {
    this.#event("error", err);
    if (!this.hooks.error) throw err;
  }

  /** Leaves the map (if still there under its fd) and closes the socket. */
  close(): void {
    if (this.map.get(this.fd) === this) this.map.delete(this.fd);
    this.sock.close();
  }
}
