#!/usr/bin/env python3
"""A Mastodon-API server that is not Mastodon, for measuring exactly-once by
hand (scripts/exactly-once.sh): it answers with the responses recorded from
a real Mastodon 4.6.4 in ../shared/fixtures/mastodon/, keeps the statuses it
creates (on the bot's own timeline), and can misbehave as several fediverse
servers do:

  --ignore-key      create a new status for every POST, Idempotency-Key or not
  --rewrite         store the text rewritten: `<3` -> a heart, `*x*` -> <em>x</em>,
                    a raw `< 2 >` dropped as an unknown tag (Friendica smilies,
                    markdown statuses, naive sanitisers)
  --delay SECONDS   hold every status POST this long after creating it
  --drop-reused     close a kept-alive connection when a second request
                    arrives on it, without answering (a server that closes
                    idle connections without saying so, lost race made sure)
  --language MODE   what the API reports as each status's language:
                    `sent` (the default: what it was sent), `en` (every
                    status, as one server that keeps the real language in
                    its ActivityPub contentMap does), `null`

GET /_created lists what was created: id, Idempotency-Key, text, language.

Usage: fediverse-double.py FIXTURES_DIR PORT_FILE [options]
"""
import argparse
import html
import json
import re
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

ap = argparse.ArgumentParser()
ap.add_argument("fixtures")
ap.add_argument("port_file")
ap.add_argument("--ignore-key", action="store_true")
ap.add_argument("--rewrite", action="store_true")
ap.add_argument("--delay", type=float, default=0.0)
ap.add_argument("--drop-reused", action="store_true")
ap.add_argument("--language", choices=["sent", "en", "null"], default="sent")
args = ap.parse_args()
fixtures = Path(args.fixtures)


def recorded(name, index=0):
    return json.loads((fixtures / name).read_text())[index]["response"]


STATUS = recorded("test_status_post_none_public.json")
ACCOUNT = recorded("test_account.json")
INSTANCE = recorded("test_instance.json")
HEADERS = {k: v for k, v in STATUS["headers"].items() if k != "content-type"}
LOCK = threading.Lock()
CREATED = []


def rewrite(text):
    text = re.sub(r"<[^<>]*>", "", text)  # a naive sanitiser drops "< 2 >"
    text = text.replace("<3", "\u2764\ufe0f")  # Friendica's smilies
    text = html.escape(text, quote=False)
    return re.sub(r"\*([^*\n]+)\*", r"<em>\1</em>", text)  # markdown statuses


def as_html(text, rewritten):
    body = rewrite(text) if rewritten else html.escape(text, quote=False)
    return "".join(f"<p>{p.replace(chr(10), '<br />')}</p>" for p in body.split("\n\n"))


def status_json(c):
    s = dict(STATUS["body"])
    language = {"sent": c["language"], "en": "en", "null": None}[args.language]
    s.update(id=c["id"], content=c["html"], language=language, created_at=c["created_at"],
             account=ACCOUNT["body"], url=f"http://localhost/@bot/{c['id']}")
    return s


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.served = 0

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json; charset=utf-8")
        for k, v in HEADERS.items():
            self.send_header(k, v)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_one_request(self):
        # --drop-reused: the second request on a connection is not answered.
        if args.drop_reused and self.served >= 1:
            self.raw_requestline = self.rfile.readline(65537)
            self.close_connection = True
            return
        super().handle_one_request()
        self.served += 1

    def do_GET(self):
        path = urlparse(self.path).path
        if path == "/_created":
            with LOCK:
                return self.reply(200, CREATED)
        if path == "/api/v2/instance":
            return self.reply(200, INSTANCE["body"])
        if path == "/api/v1/accounts/verify_credentials":
            return self.reply(200, ACCOUNT["body"])
        if path.startswith("/api/v1/accounts/") and path.endswith("/statuses"):
            with LOCK:
                return self.reply(200, [status_json(c) for c in reversed(CREATED[-40:])])
        if path == "/api/v1/statuses":
            ids = parse_qs(urlparse(self.path).query).get("id[]", [])
            with LOCK:
                return self.reply(200, [status_json(c) for c in CREATED if c["id"] in ids])
        if path.startswith("/api/v1/statuses/"):
            sid = path.rsplit("/", 1)[1]
            with LOCK:
                found = [status_json(c) for c in CREATED if c["id"] == sid]
            return self.reply(200, found[0]) if found else self.reply(404, {"error": "Record not found"})
        self.reply(404, {"error": "Not Found"})

    def do_POST(self):
        length = int(self.headers.get("content-length") or 0)
        form = parse_qs(self.rfile.read(length).decode()) if length else {}
        if urlparse(self.path).path != "/api/v1/statuses":
            return self.reply(404, {"error": "Not Found"})
        key = self.headers.get("idempotency-key")
        text = form.get("status", [""])[0]
        with LOCK:
            same = [c for c in CREATED if key and c["key"] == key]
            if same and not args.ignore_key:
                c = same[0]
            else:
                c = dict(id=str(117020600000000000 + len(CREATED)), key=key, text=text,
                         html=as_html(text, args.rewrite), language=form.get("language", [None])[0],
                         created_at=datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"))
                CREATED.append(c)
        if args.delay:
            time.sleep(args.delay)
        self.reply(200, status_json(c))

    def log_message(self, *a):
        pass


class Server(ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # a client killed while its answer was held: nothing to say


server = Server(("127.0.0.1", 0), Handler)
Path(args.port_file).write_text(str(server.server_address[1]))
server.serve_forever()
