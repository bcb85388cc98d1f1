#!/usr/bin/env python3
"""A local server that answers like Mastodon, with the responses recorded
from a real Mastodon 4.6.4 server in ../shared/fixtures/mastodon/. For the
benchmarks: both campaign-bot and `toot` post to it on loopback.

Usage: mastodon-mock.py FIXTURES_DIR PORT_FILE  (prints the port to PORT_FILE)
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

fixtures = Path(sys.argv[1])


def recorded(name, index=0):
    ex = json.loads((fixtures / name).read_text())[index]["response"]
    return ex["status"], ex["headers"], json.dumps(ex["body"]).encode()


ROUTES = {
    ("POST", "/api/v1/statuses"): recorded("test_status_post_none_public.json"),
    ("GET", "/api/v2/instance"): recorded("test_instance.json"),
    ("GET", "/api/v1/instance"): recorded("test_instance_v1.json"),
    ("GET", "/api/v1/accounts/verify_credentials"): recorded("test_account.json"),
    ("GET", "/api/v1/apps/verify_credentials"): recorded("test_app_verify_credentials.json"),
}
COUNTS = {}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, method):
        length = int(self.headers.get("content-length") or 0)
        if length:
            self.rfile.read(length)
        path = self.path.split("?")[0].rstrip("/") or "/"
        COUNTS[(method, path)] = COUNTS.get((method, path), 0) + 1
        status, headers, body = ROUTES.get((method, path), (404, {"content-type": "application/json"}, b'{"error":"Not Found"}'))
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self.answer("GET")

    def do_POST(self):
        self.answer("POST")

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
Path(sys.argv[2]).write_text(str(server.server_address[1]))
server.serve_forever()
