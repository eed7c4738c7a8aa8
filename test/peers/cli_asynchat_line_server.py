"""A Python 3.11 asynchat line server, as a peer for the TypeScript AsyncChat client.

usage: cli_asynchat_line_server.py

Listens on 127.0.0.1 (any free port) and prints "listening on PORT" once ready. Every line a
client sends ("\n"-terminated) is answered with "got N bytes: LINE" where LINE is upper-cased;
a client that sends "bye" is answered "bye" and closed once that is sent; at the end of a
client's input, what is queued for it is sent before it is closed. Runs until killed.
"""
import asynchat
import asyncore
import socket
import sys


class LineHandler(asynchat.async_chat):
    def __init__(self, sock, map):
        asynchat.async_chat.__init__(self, sock, map=map)
        self.incoming = []
        self.input_ended = False
        self.set_terminator(b"\n")

    def readable(self):
        return not self.input_ended

    def handle_close(self):
        # At the end of the client's input, answers still queued go out first (asynchat's
        # default would close at once and drop them).
        if self.input_ended or not self.producer_fifo:
            self.close()
        else:
            self.input_ended = True
            self.close_when_done()

    def collect_incoming_data(self, data):
        self.incoming.append(data)

    def found_terminator(self):
        line = b"".join(self.incoming)
        self.incoming = []
        if line == b"bye":
            self.push(b"bye\n")
            self.close_when_done()
        else:
            self.push(b"got %d bytes: %s\n" % (len(line), line.upper()))


class LineServer(asyncore.dispatcher):
    def __init__(self, map):
        asyncore.dispatcher.__init__(self, map=map)
        self.channels = map
        self.create_socket(socket.AF_INET, socket.SOCK_STREAM)
        self.set_reuse_addr()
        self.bind(("127.0.0.1", 0))
        self.listen(5)

    def handle_accepted(self, sock, addr):
        LineHandler(sock, self.channels)


def main():
    channels = {}
    server = LineServer(channels)
    print("listening on %d" % server.socket.getsockname()[1], flush=True)
    asyncore.loop(timeout=0.5, map=channels)


if __name__ == "__main__":
    main()
