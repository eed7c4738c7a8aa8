#!/usr/bin/env python3
"""An asyncore echo server (the classic dispatcher_with_send one), driven by the TypeScript client
in the interop tests.

Binds 127.0.0.1 port 0, prints the port on the first line of stdout, echoes every byte of one
connection, and exits 0 when that connection closes (the listener closes with it, so the loop's
map empties). Prints "echoed <n>" before exiting.
"""
import argparse
import asyncore
import sys

echoed = 0


class EchoHandler(asyncore.dispatcher_with_send):
    def __init__(self, sock, server):
        super().__init__(sock)
        self.server = server

    def handle_read(self):
        global echoed
        data = self.recv(8192)
        if data:
            echoed += len(data)
            self.send(data)

    def handle_close(self):
        self.close()
        self.server.close()


class EchoServer(asyncore.dispatcher):
    def __init__(self):
        super().__init__()
        self.create_socket()
        self.set_reuse_addr()
        self.bind(("127.0.0.1", 0))
        self.listen(5)

    def handle_accepted(self, sock, addr):
        EchoHandler(sock, self)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--use-poll", action="store_true")
    args = parser.parse_args()
    server = EchoServer()
    print(server.socket.getsockname()[1], flush=True)
    asyncore.loop(timeout=0.1, use_poll=args.use_poll)
    print(f"echoed {echoed}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
