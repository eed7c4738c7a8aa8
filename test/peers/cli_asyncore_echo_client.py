"""Python 3.11 asyncore echo clients, as a peer for the TypeScript echo server.

usage: cli_asyncore_echo_client.py HOST PORT SIZE COUNT

Opens COUNT connections (one asyncore.dispatcher each, all in one private map), sends SIZE bytes
of a per-client pattern on each, and reads until as many bytes came back. Prints one line per
client ("client N: SIZE bytes echoed") and exits 0 when every echo is identical to what was
sent; otherwise prints what went wrong on stderr and exits 1. Gives up after 20 seconds.
"""
import asyncore
import socket
import sys
import time


class EchoClient(asyncore.dispatcher):
    def __init__(self, host, port, data, number, map):
        asyncore.dispatcher.__init__(self, map=map)
        self.number = number
        self.expected = data
        self.pending = data
        self.received = []
        self.received_len = 0
        self.error = None
        self.create_socket(socket.AF_INET, socket.SOCK_STREAM)
        self.connect((host, port))

    def handle_connect(self):
        pass

    def writable(self):
        return not self.connected or len(self.pending) > 0

    def handle_write(self):
        sent = self.send(self.pending)
        self.pending = self.pending[sent:]

    def handle_read(self):
        data = self.recv(65536)
        if data:
            self.received.append(data)
            self.received_len += len(data)
            if self.received_len >= len(self.expected):
                self.close()

    def handle_close(self):
        self.close()

    def handle_error(self):
        self.error = sys.exc_info()[1]
        self.close()


def main():
    host, port, size, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    channels = {}
    clients = []
    for n in range(1, count + 1):
        pattern = bytes((n * 7 + i) % 251 for i in range(251))
        data = (pattern * (size // len(pattern) + 1))[:size]
        clients.append(EchoClient(host, port, data, n, channels))
    deadline = time.monotonic() + 20
    while channels and time.monotonic() < deadline:
        asyncore.loop(timeout=0.2, map=channels, count=1)
    failed = False
    for c in clients:
        got = b"".join(c.received)
        if got == c.expected:
            print("client %d: %d bytes echoed" % (c.number, len(got)))
        else:
            failed = True
            print("client %d: got %d of %d bytes back, error %r" % (c.number, len(got), len(c.expected), c.error), file=sys.stderr)
    asyncore.close_all(map=channels)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
