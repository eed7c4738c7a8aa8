#!/usr/bin/env python3
"""A Python ssl client for the TLS interop tests: verifies the server (CA file + host name),
sends random bytes on each connection and checks the echo byte for byte, then unwraps (a
close_notify exchange).

Usage: tls_echo_client.py HOST PORT CAFILE SERVER_NAME NBYTES NCONNS
Prints "client <i>: <n> bytes echoed <version>" per connection; exits 1 on any difference.
"""
import os
import socket
import ssl
import sys

host, port, cafile, name, nbytes, nconns = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6])
ctx = ssl.create_default_context(cafile=cafile)

for i in range(1, nconns + 1):
    payload = os.urandom(nbytes)
    with socket.create_connection((host, port), timeout=20) as raw:
        tls = ctx.wrap_socket(raw, server_hostname=name)
        # One thread only: an SSL object must not be used by two threads at once (OpenSSL's
        # rule), so the payload goes in pieces, each read back before the next is sent.
        got = bytearray()
        for start in range(0, nbytes, 65536):
            tls.sendall(payload[start:start + 65536])
            while len(got) < min(nbytes, start + 65536):
                chunk = tls.recv(65536)
                if not chunk:
                    break
                got += chunk
        if bytes(got) != payload:
            print(f"client {i}: echo differs ({len(got)} of {nbytes} bytes)", file=sys.stderr)
            sys.exit(1)
        version = tls.version()
        tls.unwrap()  # our close_notify, and the server's in answer
        print(f"client {i}: {nbytes} bytes echoed {version}")
