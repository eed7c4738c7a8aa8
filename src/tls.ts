// `asyncore/tls`: TLS for dispatchers and chat channels, over the OpenSSL inside Node.
// The .d.ts use Node's types (Buffer, AbortSignal): this makes a consumer with `types: []` load them.
/// <reference types="node" preserve="true" />
import { AsyncChat } from "./asynchat.js";
import { Dispatcher } from "./dispatcher.js";
import { DispatcherWithSend } from "./dispatcher-with-send.js";
import type { SocketMap } from "./loop.js";
import type { Socket } from "./socket.js";
import { withTLS } from "./tls/channel.js";

export { TLSContext, type TLSContextOptions, type TLSVersion } from "./tls/context.js";
export { TLSSocket, type TLSInfo } from "./tls/socket.js";
export { type WrapOptions } from "./tls/driver.js";
export { TLS_ERROR_CODES, type TLSError } from "./errors.js";
export { withTLS };

/** A Dispatcher under TLS: wrap() an accepted channel, or connect(address, context). */
export class TLSDispatcher extends withTLS(Dispatcher) {
  constructor(sock?: Socket | null, map?: SocketMap) {
    super(sock, map);
  }
}

/** A DispatcherWithSend under TLS: send() queues what OpenSSL cannot take yet (also during the handshake). */
export class TLSDispatcherWithSend extends withTLS(DispatcherWithSend) {
  constructor(sock?: Socket | null, map?: SocketMap) {
    super(sock, map);
  }
}

/** An AsyncChat under TLS: push() during the handshake is sent once the channel is secure. */
export class TLSAsyncChat extends withTLS(AsyncChat) {
  constructor(sock?: Socket | null, map?: SocketMap) {
    super(sock, map);
  }
}
