#!/usr/bin/env python3
"""Exactly once, tried as an operator would: the situations of issue 12, run
against a given campaign-bot binary and a Mastodon-API server double that
ignores Idempotency-Key and rewrites text (scripts/fediverse-double.py).
Prints one line per situation with what the server holds.

Usage: scripts/exactly-once.py BINARY [--bsky ENV_FILE]
       (ONLY=name,name runs only those situations)
"""
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(os.environ.get("SHARED_DIR", ROOT.parent / "shared")) / "fixtures/mastodon"
BIN = str(Path(sys.argv[1]).resolve())
BSKY = sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == "--bsky" else None
POSTS = """[text]
en = "I <3 our cities: *welcome* home, 1 < 2 > 0, message {i}."
fr = "J'<3 nos villes : *bienvenue*, 1 < 2 > 0, message {i}."
ar = "أحب مدننا <3 *أهلاً*، 1 < 2 > 0، الرسالة {i}."
"""


class Double:
    def __init__(self, *flags):
        self.dir = tempfile.mkdtemp()
        port_file = Path(self.dir) / "port"
        self.proc = subprocess.Popen([sys.executable, str(ROOT / "scripts/fediverse-double.py"),
                                      str(FIXTURES), str(port_file), *flags])
        while not port_file.exists() or not port_file.read_text():
            time.sleep(0.05)
        self.url = f"http://127.0.0.1:{port_file.read_text()}"

    def created(self):
        return json.load(urllib.request.urlopen(self.url + "/_created"))

    def stop(self):
        self.proc.kill()


def workdir(masto, messages=12, slots="*/5 * * * * *"):
    d = Path(tempfile.mkdtemp())
    (d / "posts/rotation").mkdir(parents=True)
    (d / "posts/queue").mkdir()
    for i in range(messages):
        (d / f"posts/rotation/m{i:02}.toml").write_text(POSTS.format(i=i))
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMPAIGN_BOT") and k not in ("RUST_LOG", "LOG_FORMAT")}
    env.update({
        "CAMPAIGN_BOT__SCHEDULE__SLOTS": slots,
        "CAMPAIGN_BOT__SCHEDULE__GRACE": "30s",
        "CAMPAIGN_BOT__TARGETS__MASTO__KIND": "mastodon",
        "CAMPAIGN_BOT__TARGETS__MASTO__BASE_URL": masto.url,
        "CAMPAIGN_BOT__TARGETS__MASTO__TOKEN_ENV": "MASTO_TOKEN",
        "MASTO_TOKEN": "t",
    })
    return d, env


def bot(d, env, *a, **kw):
    return subprocess.Popen([BIN, *a], cwd=d, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


def store_rows(d, sql):
    db = d / "data/state.db"
    if not db.exists():
        return []
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def dupes(created):
    per = Counter(c["key"] for c in created)
    return sum(n - 1 for n in per.values() if n > 1)


def next_second(mult):
    now = time.time()
    return (int(now) // mult + 1) * mult


def two_daemons():
    masto = Double("--ignore-key", "--rewrite", "--delay", "1")
    d, env = workdir(masto)
    first = bot(d, env, "run")
    time.sleep(0.3)
    second = bot(d, env, "run")
    time.sleep(42)
    for p in (first, second):
        p.send_signal(signal.SIGTERM)
    outs = [p.communicate(timeout=20)[0] for p in (first, second)]
    codes = [p.returncode for p in (first, second)]
    created = masto.created()
    published = store_rows(d, "SELECT count(*) FROM intents WHERE target='masto' AND state='published'")[0][0]
    refused = [l for l in outs[1].splitlines() if "another campaign-bot" in l or "already running" in l]
    print(f"two `run` on one data dir: exit codes {codes}; store says {published} published, the server has "
          f"{len(created)} statuses ({dupes(created)} duplicates); second daemon said: {refused[0][:140] if refused else '(nothing about the first)'}")
    masto.stop()


def two_post_now():
    masto = Double("--ignore-key", "--rewrite", "--delay", "3")
    d, env = workdir(masto)
    slot = "2026-12-18T09:00:00+01:00"
    a = bot(d, env, "post-now", "--slot", slot, "--target", "masto")
    time.sleep(0.7)
    b = bot(d, env, "post-now", "--slot", slot, "--target", "masto")
    outs = [p.communicate(timeout=60)[0].strip().splitlines()[-1] for p in (a, b)]
    created = masto.created()
    print(f"two `post-now --slot` 0.7 s apart, 3 s answers: {len(created)} statuses; outputs: {outs[0][:90]!r} / {outs[1][:110]!r}")
    masto.stop()


def kill_during_held_answer(tries=3):
    total, dup = 0, 0
    for _ in range(tries):
        masto = Double("--ignore-key", "--rewrite", "--delay", "3")
        d, env = workdir(masto, slots="*/10 * * * * *")
        slot_at = next_second(10)
        p = bot(d, env, "run")
        time.sleep(max(0, slot_at - time.time()) + 1.0)
        p.kill()
        p.wait()
        time.sleep(3)
        p = bot(d, env, "run")
        time.sleep(6)
        p.send_signal(signal.SIGTERM)
        p.communicate(timeout=20)
        created = masto.created()
        slot_key = datetime.fromtimestamp(slot_at, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        keys = [k for (k,) in store_rows(d, f"SELECT key FROM intents WHERE slot='{slot_key}' AND target='masto'")]
        n = sum(1 for c in created if c["key"] in keys)
        total += 1
        dup += n > 1
        masto.stop()
    print(f"kill -9 while the server holds its answer, then restart: {dup} duplicates in {total} tries")


def mislabelled_language(kills=12, mode="en"):
    """Issue 27: a server that reports `language: "en"` (or null) for every
    status. The daemon posts every 4 s, the server holds each status answer
    2 s after making it, 12 kill -9 at random moments, then a clean run."""
    import random
    rng = random.Random(27)
    masto = Double("--ignore-key", "--rewrite", "--delay", "2", "--language", mode)
    d, env = workdir(masto, messages=12, slots="*/4 * * * * *")
    logs = []
    for _ in range(kills):
        p = bot(d, env, "run")
        time.sleep(rng.uniform(2.0, 9.0))
        p.kill()
        logs.append(p.communicate()[0])
    p = bot(d, env, "run")
    time.sleep(12)
    p.send_signal(signal.SIGTERM)
    logs.append(p.communicate(timeout=30)[0])

    created = masto.created()
    per = Counter(c["key"] for c in created)
    by_lang = Counter(c["language"] for c in created if per[c["key"]] > 1)
    uncertain = store_rows(d, "SELECT count(*) FROM intents WHERE target='masto' AND state='uncertain'")[0][0]
    if os.environ.get("KEEP_LOGS"):
        Path(os.environ["KEEP_LOGS"]).write_text("\n=== run ===\n".join(logs) + "\n=== created ===\n"
                                                 + "\n".join(json.dumps(c) for c in created))
        print(f"work dir {d}")
    print(f"server reports language {mode!r} for every status, {kills} kills while answers are held 2 s: "
          f"{len(created)} statuses, {dupes(created)} duplicates (by language sent: {dict(by_lang)}), "
          f"{uncertain} left for a person")
    masto.stop()


def mislabelled_null():
    mislabelled_language(mode="null")


def post_now_after_kill():
    masto = Double("--ignore-key", "--rewrite", "--delay", "3")
    d, env = workdir(masto)
    slot = "2026-12-18T09:00:00+01:00"
    a = bot(d, env, "post-now", "--slot", slot, "--target", "masto")
    time.sleep(1.0)
    a.kill()
    a.wait()
    time.sleep(2.5)
    b = bot(d, env, "post-now", "--slot", slot, "--target", "masto")
    out = b.communicate(timeout=120)[0].strip().splitlines()[-1]
    print(f"`post-now --slot` killed mid-post, then again: {len(masto.created())} statuses; second said {out[:120]!r}")
    masto.stop()


def concurrent_writers():
    masto = Double()
    d, env = workdir(masto, messages=30, slots="* * * * * *")
    env["CAMPAIGN_BOT__TARGETS__OUTBOX__KIND"] = "outbox"
    daemon = bot(d, env, "run")
    stop = time.time() + 20
    locked = []

    def loop(n):
        i = 0
        while time.time() < stop:
            slot = (datetime(2027, 1, 1, tzinfo=timezone.utc) + timedelta(minutes=n * 1000 + i)).isoformat()
            out = bot(d, env, "post-now", "--slot", slot, "--target", "outbox").communicate()[0]
            if "locked" in out or "busy" in out:
                locked.append(out)
            i += 1
    threads = [threading.Thread(target=loop, args=(n,)) for n in range(3)]
    start = datetime.now(timezone.utc)
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    daemon.send_signal(signal.SIGTERM)
    log = daemon.communicate(timeout=20)[0]
    end = datetime.now(timezone.utc)
    dropped = log.count("cannot record the slot")
    rows = store_rows(d, "SELECT slot_at, target FROM intents WHERE slot NOT LIKE '2027%'")
    have = {(r[0][:19], r[1]) for r in rows}
    first = min((r[0][:19] for r in rows), default=None)
    missing = 0
    if first:
        t = datetime.fromisoformat(first + "+00:00")
        while t < end - timedelta(seconds=2):
            for target in ("masto", "outbox"):
                if (t.strftime("%Y-%m-%dT%H:%M:%S"), target) not in have:
                    missing += 1
            t += timedelta(seconds=1)
    print(f"a daemon (1 slot/s, 2 targets) beside three post-now loops, 20 s: {dropped} slots dropped with 'cannot record', "
          f"{missing} slot/targets without a row, {len(locked)} post-now runs failed on a locked store")
    masto.stop()


def fresh_dir_two_openers(rounds=20):
    masto = Double()
    failures = []
    for _ in range(rounds):
        d, env = workdir(masto, messages=1)
        ps = [bot(d, env, "status") for _ in range(3)]
        for p in ps:
            out = p.communicate(timeout=60)[0]
            if "duplicate column" in out or "already exists" in out or "locked" in out:
                failures.append(out.strip().splitlines()[-1])
    print(f"a fresh data dir opened by three processes at once, {rounds} rounds: {len(failures)} failures"
          + (f" ({failures[0][:100]})" if failures else ""))
    masto.stop()


def stale_connections(runs=20):
    masto = Double("--drop-reused")
    d, env = workdir(masto, messages=1)
    # 30 published posts to check.
    db_env = dict(env)
    for i in range(30):
        bot(d, db_env, "post-now", "--slot", f"2026-12-0{1 + i // 10}T0{i % 10}:00:00Z", "--target", "masto").communicate()
    failed = 0
    for _ in range(runs):
        out = bot(d, env, "engagement", "--all").communicate(timeout=60)[0]
        failed += "check failed" in out
    print(f"`engagement --all` (30 posts) against a server that drops reused connections: {failed} of {runs} runs failed")
    masto.stop()


def bluesky_lost_store():
    if not BSKY:
        print("Bluesky with a lost store: skipped (no --bsky ENV_FILE)")
        return
    vars = dict(l.split("=", 1) for l in Path(BSKY).read_text().splitlines() if "=" in l)
    d = Path(tempfile.mkdtemp())
    import shutil
    shutil.copytree(ROOT / "posts", d / "posts")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMPAIGN_BOT")}
    env.update({"CAMPAIGN_BOT__TARGETS__SKY__KIND": "bluesky", "CAMPAIGN_BOT__TARGETS__SKY__SERVICE": vars["BSKY_PDS_URL"],
                "CAMPAIGN_BOT__TARGETS__SKY__IDENTIFIER": vars["BOT_HANDLE"], "CAMPAIGN_BOT__TARGETS__SKY__PASSWORD_ENV": "P",
                "P": vars["BOT_PASSWORD"]})
    slot = datetime.now(timezone.utc).replace(microsecond=0, second=7).isoformat()
    first = bot(d, env, "post-now", "--slot", slot, "--target", "sky").communicate()[0].strip()
    for f in (d / "data").glob("state.db*"):
        f.unlink()
    second = bot(d, env, "post-now", "global-agendas", "--slot", slot, "--target", "sky").communicate()[0].strip()
    print(f"Bluesky, store lost: first {first.splitlines()[-1][:70]!r}; then `post-now global-agendas` said {second.splitlines()[-1][:160]!r}")


ONLY = [n for n in os.environ.get("ONLY", "").split(",") if n]
for f in (two_daemons, two_post_now, kill_during_held_answer, mislabelled_language, mislabelled_null,
          post_now_after_kill, concurrent_writers,
          fresh_dir_two_openers, stale_connections, bluesky_lost_store):
    if ONLY and f.__name__ not in ONLY:
        continue
    try:
        f()
    except Exception as e:  # one broken situation does not hide the others
        print(f"{f.__name__}: could not run: {e!r}")
    sys.stdout.flush()
