"""Python 3.11 asynchat clients, as peers for the TypeScript chat server.

usage: cli_asynchat_chat_client.py HOST PORT

Connects client A and waits for the server's "* welcome" line, then does the same for client B,
so that the server knows both before anyone speaks. Then A and B each send one line, and each
must receive the other's line as "<NAME> line", where NAME is the other's local address.
Prints every line each client received ("A: ...", "B: ...") and exits 0 when both got the
other's line; exits 1 otherwise. Gives up after 15 seconds.
"""
import asynchat
import asyncore
import socket
import sys
import time


class LineClient(asynchat.async_chat):
    def __init__(self, label, host, port, map):
        asynchat.async_chat.__init__(self, map=map)
        self.label = label
        self.lines = []
        self.incoming = []
        self.set_terminator(b"\n")
        self.create_socket(socket.AF_INET, socket.SOCK_STREAM)
        self.connect((host, port))

    def handle_connect(self):
        pass

    def collect_incoming_data(self, data):
        self.incoming.append(data)

    def found_terminator(self):
        line = b"".join(self.incoming).decode("utf-8")
        self.incoming = []
        self.lines.append(line)
        print("%s: %s" % (self.label, line), flush=True)

    def name(self):
        host, port = self.socket.getsockname()[:2]
        return "%s:%d" % (host, port)

    def handle_close(self):
        self.close()


def run_until(channels, condition, deadline):
    while not condition():
        if time.monotonic() > deadline or not channels:
            return False
        asyncore.loop(timeout=0.1, map=channels, count=1)
    return True


def welcomed(client):
    return any(line.startswith("* welcome ") for line in client.lines)


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    deadline = time.monotonic() + 15
    channels = {}
    a = LineClient("A", host, port, channels)
    if not run_until(channels, lambda: welcomed(a), deadline):
        sys.exit("A was not welcomed")
    b = LineClient("B", host, port, channels)
    if not run_until(channels, lambda: welcomed(b), deadline):
        sys.exit("B was not welcomed")
    a.push(b"hello from A\n")
    b.push(b"hello from B, over\r\n")
    from_a = "<%s> hello from A" % a.name()
    from_b = "<%s> hello from B, over" % b.name()
    ok = run_until(channels, lambda: from_b in a.lines and from_a in b.lines, deadline)
    asyncore.close_all(map=channels)
    if not ok:
        sys.exit("missing lines: A got %r, B got %r" % (a.lines, b.lines))


if __name__ == "__main__":
    main()
