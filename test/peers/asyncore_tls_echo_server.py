#!/usr/bin/env python3
"""An asyncore + ssl echo server written the way CPython's test_ssl writes its AsyncoreEchoServer:
the handshake done by hand inside the loop (do_handshake_on_connect=False, SSLWantRead/Write
mapped onto readable()/writable()), and pending() drained by hand (the select() stall).

Usage: asyncore_tls_echo_server.py CERTFILE KEYFILE
Binds 127.0.0.1 port 0, prints the port, echoes one connection, answers its close_notify, and
prints "echoed <n> <version>" on exit.
"""
import asyncore
import socket
import ssl
import sys

echoed = 0
version = None


class EchoHandler(asyncore.dispatcher_with_send):
    def __init__(self, conn, ctx, server):
        self.server = server
        self.socket = ctx.wrap_socket(conn, server_side=True, do_handshake_on_connect=False)
        asyncore.dispatcher_with_send.__init__(self, self.socket)
        self._accepting = True
        self._want_write = False
        self._handshake()

    def readable(self):
        if isinstance(self.socket, ssl.SSLSocket):
            while self.socket.pending() > 0:
                self.handle_read_event()
        return True

    def writable(self):
        return self._want_write or (not self._accepting and len(self.out_buffer) > 0)

    def _handshake(self):
        global version
        self._want_write = False
        try:
            self.socket.do_handshake()
        except ssl.SSLWantReadError:
            return
        except ssl.SSLWantWriteError:
            self._want_write = True
            return
        self._accepting = False
        version = self.socket.version()

    def handle_write(self):
        if self._accepting:
            self._handshake()
        else:
            self.initiate_send()

    def initiate_send(self):
        try:
            asyncore.dispatcher_with_send.initiate_send(self)
        except ssl.SSLWantWriteError:
            pass  # out_buffer is kept: the same bytes go again (the moving-buffer mode allows it)

    def handle_read(self):
        global echoed
        if self._accepting:
            self._handshake()
            return
        try:
            data = self.recv(65536)
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
            return
        if data:
            echoed += len(data)
            self.send(data)

    def handle_close(self):
        try:
            self.socket.setblocking(True)
            self.socket.settimeout(5)
            while self.out_buffer:
                asyncore.dispatcher_with_send.initiate_send(self)
            self.socket.unwrap()  # answers the client's close_notify
        except (OSError, ValueError):
            pass
        self.close()
        self.server.close()


class EchoServer(asyncore.dispatcher):
    def __init__(self, ctx):
        super().__init__()
        self.ctx = ctx
        self.create_socket(socket.AF_INET, socket.SOCK_STREAM)
        self.set_reuse_addr()
        self.bind(("127.0.0.1", 0))
        self.listen(5)

    def handle_accepted(self, sock, addr):
        EchoHandler(sock, self.ctx, self)


ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[1], sys.argv[2])
server = EchoServer(ctx)
print(server.socket.getsockname()[1], flush=True)
asyncore.loop(timeout=0.5)
print(f"echoed {echoed} {version}")
