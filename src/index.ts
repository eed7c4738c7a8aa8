// The `asyncore` entry point: the loop, the dispatchers, the socket layer and its constants.
// The .d.ts use Node's types (Buffer, AbortSignal): this makes a consumer with `types: []` load them.
/// <reference types="node" preserve="true" />
export * from "./constants.js";
export { type Address } from "./address.js";
export { ERR_NUMERIC_HOST_REQUIRED, ExitNow, isSystemError, strerror, type ErrorLocation, type NumericHostError, type SystemError } from "./errors.js";
export { Socket, socketpair } from "./socket.js";
export {
  type Channel, type LoopOptions, type SocketMap, closeAll, exception, loop, poll, poll2, poll3, read, readwrite, socketMap, wake, write,
} from "./loop.js";
export { compactTraceback } from "./traceback.js";
export { backend as pollerBackend } from "./poller.js";
export { Dispatcher } from "./dispatcher.js";
export { DispatcherWithSend } from "./dispatcher-with-send.js";
export { FileDispatcher, FileWrapper } from "./file-dispatcher.js";
export { DatagramDispatcher, MAX_QUEUED_DATAGRAMS, MAX_UDP_PAYLOAD, MAX_UDP_PAYLOAD_IPV4 } from "./datagram.js";
