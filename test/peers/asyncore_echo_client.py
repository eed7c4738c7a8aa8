#!/usr/bin/env python3
"""An asyncore echo client, driving the TypeScript echo server in the interop tests.

Connects to 127.0.0.1:PORT, then for each size sends one message of that many bytes (the shared
pattern) and waits for its whole echo before the next, checking every byte. Prints
"OK <total bytes>" and exits 0, or prints what went wrong and exits 1.
"""
import argparse
import asyncore
import sys

from interop_pattern import pattern


class EchoClient(asyncore.dispatcher):
    def __init__(self, port: int, sizes: list[int]):
        super().__init__()
        self.messages = [pattern(i, n) for i, n in enumerate(sizes)]
        self.index = 0
        self.out = self.messages[0]
        self.got = bytearray()
        self.total = 0
        self.error = None
        self.done = False
        self.create_socket()
        self.connect(("127.0.0.1", port))

    def handle_connect(self):
        pass

    def writable(self):
        return not self.connected or len(self.out) > 0

    def handle_write(self):
        sent = self.send(self.out[:65536])
        self.out = self.out[sent:]

    def handle_read(self):
        data = self.recv(65536)
        if not data:
            return
        self.got += data
        expected = self.messages[self.index]
        if len(self.got) > len(expected):
            self.fail(f"message {self.index}: {len(self.got)} bytes echoed for {len(expected)} sent")
            return
        if len(self.got) < len(expected):
            return
        if self.got != expected:
            at = next(k for k in range(len(expected)) if self.got[k] != expected[k])
            self.fail(f"message {self.index} ({len(expected)} bytes): first difference at byte {at}")
            return
        self.total += len(expected)
        self.index += 1
        self.got = bytearray()
        if self.index == len(self.messages):
            self.done = True
            self.close()
        else:
            self.out = self.messages[self.index]

    def handle_close(self):
        if not self.done and self.error is None:
            self.error = f"connection closed during message {self.index}"
        self.close()

    def handle_error(self):
        self.error = f"error: {sys.exc_info()[1]!r}"
        self.close()

    def fail(self, why: str):
        self.error = why
        self.close()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("sizes", type=int, nargs="+")
    parser.add_argument("--use-poll", action="store_true")
    args = parser.parse_args()
    client = EchoClient(args.port, args.sizes)
    asyncore.loop(timeout=0.1, use_poll=args.use_poll)
    if client.error is not None or not client.done:
        print(client.error or "not done", flush=True)
        return 1
    print(f"OK {client.total}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
