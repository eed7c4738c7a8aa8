// Used by src/cli/forward.ts: `asyncore forward` without TLS, on Linux, relays each direction of a
// connection socket -> pipe -> socket with splice(2), so the bytes never enter user space. Only the
// data path differs from the port forwarder example (examples/port-forwarder.ts), which these
// classes extend: connecting to the remote, half-close, the 256 KiB bound, resets, the idle
// timeout, descriptor shortages and the report lines are the example's own code.
//
// In the asyncore model: the side that reads is readable() while the pipe towards the other side
// has room; the side that writes is writable() while that pipe holds bytes. The pipes are not
// polled (their counts are kept in JavaScript), only the sockets are, and a direction holds a pipe
// (from the forwarder's PipePool) only while it has bytes in flight.
import { BUFFER_LIMIT, type ForwardingChannel, Forwarder, Receiver, Sender } from "../examples/port-forwarder.js";
import { isDisconnect, isSpliceRefused, isWouldBlock, systemError } from "./errors.js";
import { touchIdle } from "./idle.js";
import { PipePool, type SplicePipe } from "./splice-pipe.js";
import type { Socket } from "./socket.js";

export { spliceAvailable } from "./splice-pipe.js";

/** What withSplice() adds to a forwarding channel. */
export interface SpliceMembers {
  /**
   * Where the pipes towards this socket come from; null: that direction copies through user
   * space (recv and send, the example's way): no pool was given, or the kernel refused to splice.
   */
  pipes: PipePool | null;
  /** The pipe holding bytes on their way to this socket, while there are any (at most BUFFER_LIMIT). */
  inbox: SplicePipe | null;
  /** Uses `pool` for the pipes towards this socket (and counts this channel in it until it closes). */
  usePipes(pool: PipePool): void;
  /** Stops splicing towards this socket: what its pipe holds moves to `outgoing`, the pipe closes. */
  stopSplicing(): void;
}

type ChannelClass = new (...args: any[]) => ForwardingChannel;

function spliceOf(channel: ForwardingChannel | null): SpliceMembers | null {
  return channel !== null && (channel as Partial<SpliceMembers>).pipes != null ? channel as unknown as SpliceMembers : null;
}

/**
 * `Base` (Receiver or Sender) relaying with splice(2) once `pipes` is set: the side that reads
 * takes a pipe from the pool when it has bytes to move, the side that writes gives it back once
 * it has written them all. Without a pool, while the pool has no pipe to give (descriptors are
 * short), while bytes copied earlier still wait, or once the kernel refuses to splice (EINVAL...),
 * it copies as `Base` does.
 */
export function withSplice<B extends ChannelClass>(Base: B): B & (new (...args: any[]) => SpliceMembers) {
  // Abstract to the compiler only (ForwardingChannel's describe() is implemented by Receiver and Sender).
  abstract class SpliceChannel extends Base implements SpliceMembers {
    // Prototype defaults (below): the example's constructors may close the channel before field
    // initializers would run.
    declare pipes: PipePool | null;
    declare inbox: SplicePipe | null;
    /** @internal The pool this channel is counted in (attach()), until it closes. */
    declare _pool: PipePool | null;

    usePipes(pool: PipePool): void {
      if (this._pool !== null || this.fileno() === null) return;
      this._pool = pool;
      this.pipes = pool;
      pool.attach();
    }

    override readable(): boolean {
      if (!super.readable()) return false;
      const pipe = spliceOf(this.other)?.inbox ?? null;
      return pipe === null || pipe.hasRoom();
    }

    override writable(): boolean {
      const pipe = this.inbox;
      return (pipe !== null && pipe.length > 0) || super.writable();
    }

    override handleRead(): void {
      const other = spliceOf(this.other);
      // Copies wait in the other side's queue: what comes next waits behind them.
      if (other === null || this._fileno === null || (other as unknown as ForwardingChannel).outgoing.length > 0) {
        super.handleRead();
        return;
      }
      const pipe = other.inbox ?? other.pipes!.take();
      if (pipe === null) {  // no descriptor for a pipe now: this read copies
        super.handleRead();
        return;
      }
      other.inbox = pipe;
      const r = pipe.fillFrom(this._fileno);
      if (r > 0) {
        this.received += r;
        // Write through at once when the pipe was empty (as the copying relay does): otherwise
        // the other side already waits to be writable.
        const peer = other as unknown as ForwardingChannel;
        if (peer.connected && pipe.length === r) peer.handleWrite();
        return;
      }
      if (pipe.length === 0) {  // nothing moved: the pipe goes back
        other.inbox = null;
        other.pipes!.give(pipe);
      }
      if (r < 0 && isWouldBlock(r)) return;  // nothing there yet, or the pipe is full (see SplicePipe.full)
      if (r < 0 && isSpliceRefused(r)) other.stopSplicing();
      else if (r < 0) {
        this.#failed(r);
        return;
      }
      // The end of the stream (or a refusal): the example's recv() reads it and passes it on
      // (recv() returns the end again, and anything else in order behind what the pipe holds).
      super.handleRead();
    }

    override handleWrite(): void {
      const pipe = this.inbox;
      if (pipe !== null && this._fileno !== null) {
        const r = pipe.drainTo(this._fileno);
        if (r > 0) {
          this.sent += r;
          if (this._idle !== null) touchIdle(this._idle);  // sending is activity, as send() counts it
          if (pipe.length > 0) return;  // the kernel's buffer is full: the rest when writable
          this.inbox = null;
          this.#release(pipe);
        } else if (r < 0 && isWouldBlock(r)) {
          return;
        } else if (r < 0 && isSpliceRefused(r)) {
          this.stopSplicing();
        } else if (r < 0) {
          this.#failed(r);
          return;
        }
      }
      // The copy queue (empty unless bytes were copied), then the end of output once the other
      // side's input has ended: the example's code.
      super.handleWrite();
    }

    stopSplicing(): void {
      this.pipes = null;
      const pipe = this.inbox;
      if (pipe === null) return;
      this.inbox = null;
      for (const chunk of pipe.takeAll()) this.outgoing.push(chunk);
      pipe.close();
    }

    /**
     * Its pipe goes back to the pool (closed if it still holds bytes: they are dropped with the
     * connection) before the socket closes, so that onClosed sees the descriptors free.
     */
    override close(): void {
      const pipe = this.inbox;
      if (pipe !== null) {
        this.inbox = null;
        this.#release(pipe);
      }
      const pool = this._pool;
      this._pool = null;
      super.close();
      pool?.detach();
    }

    // A pipe this channel is done with: back to its pool (which closes it if it still holds bytes).
    #release(pipe: SplicePipe): void {
      if (this._pool !== null) this._pool.give(pipe);
      else pipe.close();
    }

    // A failed splice() (-errno): as a failed recv() or send() of the example: the peer gone
    // closes the channel (closeError set, the other side reset), anything else goes to handleError().
    #failed(errno: number): void {
      const err = systemError(errno, "splice");
      if (isDisconnect(errno)) this._closeFor(err);
      else throw err;
    }
  }
  SpliceChannel.prototype.pipes = null;
  SpliceChannel.prototype.inbox = null;
  SpliceChannel.prototype._pool = null;
  return SpliceChannel as unknown as B & (new (...args: any[]) => SpliceMembers);
}

/** The local side (a client's connection), relaying with splice(2). */
export class SpliceReceiver extends withSplice(Receiver) {}

/** The remote side, relaying with splice(2). */
export class SpliceSender extends withSplice(Sender) {}

/**
 * The example's Forwarder whose connections relay with splice(2). Its pipes (two descriptors each,
 * holding at most BUFFER_LIMIT bytes) are lent by one pool to the directions that have bytes in
 * flight; when none can be made (EMFILE...), a direction copies meanwhile, and accepting goes on
 * as the example's own shortage handling decides. With `tls` or `remoteTls` set it forwards as the
 * Forwarder does (TLS needs the bytes in user space).
 */
export class SpliceForwarder extends Forwarder {
  /** The pipes lent to this forwarder's connections. */
  readonly pipes = new PipePool(BUFFER_LIMIT);

  override newReceiver(conn: Socket): Receiver {
    if (this.tls !== null) return super.newReceiver(conn);
    const receiver = new SpliceReceiver(conn, this.map);
    receiver.usePipes(this.pipes);
    return receiver;
  }

  override newSender(receiver: Receiver): Sender {
    if (!(receiver instanceof SpliceReceiver) || this.remoteTls !== null) return super.newSender(receiver);
    const sender = new SpliceSender(receiver, this.remoteIp, this.remotePort);
    sender.usePipes(this.pipes);
    return sender;
  }
}
