# python3 -m http.server wrapped in ssl: serves DIR over HTTPS with CERT and KEY on 127.0.0.1,
# any free port; prints "Serving HTTPS on 127.0.0.1 port N" once it listens.
# Usage: python3 tls_http_server.py DIR CERT KEY
import functools
import http.server
import ssl
import sys

directory, cert, key = sys.argv[1:4]
context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
context.load_cert_chain(cert, key)
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=directory)
httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
print(f"Serving HTTPS on 127.0.0.1 port {httpd.server_address[1]}", flush=True)
httpd.serve_forever()
