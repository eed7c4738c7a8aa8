// Used by src/cli/forward.ts: `asyncore forward` without TLS, on Linux, relays each direction of a
// connection socket -> pipe -> socket with splice(2), so the bytes never enter user space. Only the
// data path differs from the port forwarder example (examples/port-forwarder.ts), which these
// classes extend: connecting to the remote, half-close, the 256 KiB bound, resets, the idle
// timeout, descriptor shortages and the report lines are the example's own code.
//
// In the asyncore model: the side that reads is readable() while the pipe towards the other side
// has room; the side that writes is writable() while its pipe holds bytes. The pipes are not
// polled (their counts are kept here), only the sockets are.
import { BUFFER_LIMIT, type ForwardingChannel, Forwarder, Receiver, Sender } from "../examples/port-forwarder.js";
import { errnoOf, isDisconnect, isOutOfResources, isSpliceRefused, isWouldBlock, systemError } from "./errors.js";
import { touchIdle } from "./idle.js";
import { SplicePipe } from "./splice-pipe.js";
import type { Socket } from "./socket.js";

export { spliceAvailable } from "./splice-pipe.js";

/** What withSplice() adds to a forwarding channel. */
export interface SpliceMembers {
  /**
   * The pipe carrying the other side's input towards this socket (at most BUFFER_LIMIT bytes);
   * null: that direction copies through user space (recv and send, the example's way).
   */
  inbox: SplicePipe | null;
  /** Stops splicing towards this socket: what the pipe holds moves to `outgoing`, the pipe closes. */
  stopSplicing(): void;
}

type ChannelClass = new (...args: any[]) => ForwardingChannel;

function inboxOf(channel: ForwardingChannel | null): SplicePipe | null {
  return channel === null ? null : (channel as Partial<SpliceMembers>).inbox ?? null;
}

/**
 * `Base` (Receiver or Sender) relaying with splice(2) wherever its pipes are set; without them,
 * or once the kernel refuses to splice (EINVAL...), it copies as `Base` does.
 */
export function withSplice<B extends ChannelClass>(Base: B): B & (new (...args: any[]) => SpliceMembers) {
  // Abstract to the compiler only (ForwardingChannel's describe() is implemented by Receiver and Sender).
  abstract class SpliceChannel extends Base implements SpliceMembers {
    // A prototype default (below): the example's constructors may close the channel before
    // field initializers would run.
    declare inbox: SplicePipe | null;

    override readable(): boolean {
      if (!super.readable()) return false;
      const pipe = inboxOf(this.other);
      return pipe === null || pipe.hasRoom();
    }

    override writable(): boolean {
      const pipe = this.inbox;
      return (pipe !== null && pipe.length > 0) || super.writable();
    }

    override handleRead(): void {
      const other = this.other;
      const pipe = inboxOf(other);
      if (pipe === null || this._fileno === null) {
        super.handleRead();
        return;
      }
      const r = pipe.fillFrom(this._fileno);
      if (r > 0) {
        this.received += r;
        // Write through at once when the pipe was empty (as the copying relay does): otherwise
        // the other side already waits to be writable.
        if (other!.connected && pipe.length === r) other!.handleWrite();
        return;
      }
      if (r < 0 && isWouldBlock(r)) return;  // nothing there yet, or the pipe is full (see SplicePipe.full)
      if (r < 0 && isSpliceRefused(r)) (other as unknown as SpliceMembers).stopSplicing();
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
      if (pipe !== null && pipe.length > 0 && this._fileno !== null) {
        const r = pipe.drainTo(this._fileno);
        if (r > 0) {
          this.sent += r;
          if (this._idle !== null) touchIdle(this._idle);  // sending is activity, as send() counts it
          if (pipe.length > 0) return;  // the kernel's buffer is full: the rest when writable
        } else if (isWouldBlock(r)) {
          return;
        } else if (isSpliceRefused(r)) {
          this.stopSplicing();
        } else {
          this.#failed(r);
          return;
        }
      }
      // The copy queue (empty unless splicing stopped), then the end of output once the other
      // side's input has ended: the example's code.
      super.handleWrite();
    }

    stopSplicing(): void {
      const pipe = this.inbox;
      if (pipe === null) return;
      this.inbox = null;
      for (const chunk of pipe.takeAll()) this.outgoing.push(chunk);
      pipe.close();
    }

    /** The pipe closes with the socket (before it, so that onClosed sees both descriptors free). */
    override close(): void {
      const pipe = this.inbox;
      if (pipe !== null) {
        this.inbox = null;
        pipe.close();
      }
      super.close();
    }

    // A failed splice() (-errno): as a failed recv() or send() of the example: the peer gone
    // closes the channel (closeError set, the other side reset), anything else goes to handleError().
    #failed(errno: number): void {
      const err = systemError(errno, "splice");
      if (isDisconnect(errno)) this._closeFor(err);
      else throw err;
    }
  }
  SpliceChannel.prototype.inbox = null;
  return SpliceChannel as unknown as B & (new (...args: any[]) => SpliceMembers);
}

/** The local side (a client's connection), relaying with splice(2). */
export class SpliceReceiver extends withSplice(Receiver) {}

/** The remote side, relaying with splice(2). */
export class SpliceSender extends withSplice(Sender) {}

/**
 * The example's Forwarder whose connections relay with splice(2): two pipes per connection (four
 * descriptors), made with the remote socket, so that a shortage of descriptors for them makes the
 * client's connection wait as a shortage for the socket does. With `tls` or `remoteTls` set it
 * forwards as the Forwarder does (TLS needs the bytes in user space).
 */
export class SpliceForwarder extends Forwarder {
  override newReceiver(conn: Socket): Receiver {
    return this.tls === null ? new SpliceReceiver(conn, this.map) : super.newReceiver(conn);
  }

  override newSender(receiver: Receiver): Sender {
    if (!(receiver instanceof SpliceReceiver) || this.remoteTls !== null) return super.newSender(receiver);
    const pipes = openPipes();
    let sender: SpliceSender;
    try {
      sender = new SpliceSender(receiver, this.remoteIp, this.remotePort);
    } catch (err) {
      pipes?.forEach((pipe) => pipe.close());
      throw err;
    }
    if (pipes !== null) {
      adopt(sender, pipes[0]);
      adopt(receiver, pipes[1]);
    }
    return sender;
  }
}

/** A pipe towards `channel`'s socket, or closed at once when the channel already is. */
function adopt(channel: ForwardingChannel & SpliceMembers, pipe: SplicePipe): void {
  if (channel.fileno() === null) pipe.close();
  else channel.inbox = pipe;
}

/**
 * The two pipes of a connection (towards the remote, towards the client). Throws when descriptors
 * or memory are short (the connection waits); null when the kernel has no pipes or splice for us
 * (the connection copies).
 */
function openPipes(): [SplicePipe, SplicePipe] | null {
  let first: SplicePipe | null = null;
  try {
    first = SplicePipe.open(BUFFER_LIMIT);
    return [first, SplicePipe.open(BUFFER_LIMIT)];
  } catch (err) {
    first?.close();
    if (isOutOfResources(errnoOf(err))) throw err;
    return null;
  }
}
