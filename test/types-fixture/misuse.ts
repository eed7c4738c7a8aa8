// What the typings must refuse: each line below the marker fails to compile.
import { Dispatcher, DispatcherWithSend, FileDispatcher, Socket, loop } from "asyncore";
import { AsyncChat } from "asyncore/asynchat";

const d = new DispatcherWithSend();
// @ts-expect-error send() takes bytes, not a string
d.send("str");
const chat = new AsyncChat();
// @ts-expect-error push() takes bytes, not a string
chat.push("line\n");
// @ts-expect-error a terminator is a string, bytes, a count or null
chat.setTerminator({ end: "\n" });
// @ts-expect-error timeout is in seconds, a number
await loop({ timeout: "1" });
// @ts-expect-error signal is an AbortSignal
await loop({ signal: true });
// @ts-expect-error no such option
await loop({ interval: 1 });
// @ts-expect-error a family is a number
new Socket("AF_INET");
// @ts-expect-error an inet address is [host, port]
d.connect(["127.0.0.1", "80"]);
// @ts-expect-error internal state is not part of the API
void d._map;
// @ts-expect-error internal state is not part of the API
void d._queue;
// @ts-expect-error internal state is not part of the API
void d._lookup;
// @ts-expect-error internal hooks are not part of the API
d._closeFor(new Error("x"));
// A FileDispatcher's socket is a FileWrapper: it has no getpeername().
const f = new FileDispatcher(0);
// @ts-expect-error FileWrapper has no getpeername()
f.socket?.getpeername();
void f.socket?.read(10);
// A Dispatcher's socket is a Socket (or null): no cast needed.
const plain = new Dispatcher();
void plain.socket?.getpeername();
// LoopOptions under exactOptionalPropertyTypes: an explicit undefined is fine (as if left out).
await loop({ timeout: undefined, count: undefined, map: undefined, usePoll: undefined, signal: undefined });
