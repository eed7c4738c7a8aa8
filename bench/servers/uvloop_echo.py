"""Echo server on asyncio with the uvloop event loop: a Protocol that writes back what it gets.

    python3 uvloop_echo.py PORT

Run with whichever python3 can import uvloop (Debian's python3-uvloop installs it for
/usr/bin/python3). uvloop sets TCP_NODELAY on its sockets by default; nothing here changes that.
"""
import asyncio
import sys

import uvloop


class Echo(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.transport.write(data)


async def main(port):
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Echo, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    uvloop.install()
    asyncio.run(main(int(sys.argv[1])))
