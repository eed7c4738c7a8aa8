"""Echo server on Python's asyncore, written as the asyncore documentation writes it.

    python3 py_asyncore_echo.py PORT

dispatcher_with_send echoes what recv(8192) returns; the listening dispatcher creates one handler
per accepted connection; asyncore.loop() runs with its default select() poller.
"""
import sys
import warnings

warnings.simplefilter("ignore", DeprecationWarning)  # asyncore is deprecated in 3.11, gone in 3.12
import asyncore  # noqa: E402


class EchoHandler(asyncore.dispatcher_with_send):
    def handle_read(self):
        data = self.recv(8192)
        if data:
            self.send(data)


class EchoServer(asyncore.dispatcher):
    def __init__(self, host, port):
        super().__init__()
        self.create_socket()
        self.set_reuse_addr()
        self.bind((host, port))
        self.listen(1024)  # the same backlog as every other server here

    def handle_accepted(self, sock, addr):
        EchoHandler(sock)


if __name__ == "__main__":
    EchoServer("127.0.0.1", int(sys.argv[1]))
    asyncore.loop()
