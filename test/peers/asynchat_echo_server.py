#!/usr/bin/env python3
"""Echo peer for the AsyncChat tests, in its own process with blocking sockets.

Binds 127.0.0.1 port 0 and prints the port on the first line of stdout. Accepts one connection,
reads it one byte at a time until it has seen b"QUIT\n" (or end of stream), drops every b"QUIT\n"
from what it read, optionally waits for a line on stdin (--wait-stdin: the test says when to
start echoing), then sends the rest back --chunk bytes at a time with a short pause between
pieces, closes, and prints "received <n> <hex>" (what it read, without the quit message).
"""
import argparse
import socket
import sys
import time

SERVER_QUIT = b"QUIT\n"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chunk", type=int, default=1, help="bytes per send when echoing")
    parser.add_argument("--wait-stdin", action="store_true", help="wait for a stdin line before echoing")
    parser.add_argument("--accept-timeout", type=float, default=20.0, help="seconds to wait for the client")
    args = parser.parse_args()

    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(args.accept_timeout)  # never outlive a test that gave up
    print(listener.getsockname()[1], flush=True)

    conn, _ = listener.accept()
    conn.settimeout(args.accept_timeout)
    received = b""
    try:
        while SERVER_QUIT not in received:
            data = conn.recv(1)
            if not data:
                break
            received += data
    except OSError:
        pass
    received = received.replace(SERVER_QUIT, b"")

    if args.wait_stdin:
        sys.stdin.readline()

    # The client may already be gone (close-when-done): a failed send just ends the echo.
    pending = received
    try:
        while pending:
            n = conn.send(pending[: args.chunk])
            time.sleep(0.001)
            pending = pending[n:]
    except OSError:
        pass

    conn.close()
    listener.close()
    print("received", len(received), received.hex(), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
