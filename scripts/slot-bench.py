#!/usr/bin/env python3
"""Cost of a slot, from outside: the daemon (BINARY) with N outbox targets and
a slot every EVERY seconds, on an empty state store or one pre-filled with
PREFILL published posts (and their outbox lines), for SLOTS slots.

For each slot it reports the latency (slot instant -> the last target's post
recorded, from the store) and the CPU the daemon used (from /proc, sampled at
each slot), then the process's RSS and thread count at the end.

Usage: scripts/slot-bench.py BINARY N SLOTS [--prefill P] [--every E] [--json]
The store generator is usable alone:
       scripts/slot-bench.py --generate DATA_DIR P [TARGETS]
Idle memory: the daemon with no slot due, on POSTS (default: the shipped
posts/) and an empty or pre-filled store, its RSS after SECS seconds:
       scripts/slot-bench.py --idle BINARY SECS [--posts DIR] [--prefill P] [--operator]
--operator: as an operator runs it, with the HTTP endpoint on and one target
of each network kind (tokens and passwords from files), their servers the
project's Mastodon mock (at idle only Mastodon's limits are asked for).
"""
import argparse
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TICK = os.sysconf("SC_CLK_TCK")


def env_for(n, data_dir, every):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMPAIGN_BOT") and k not in ("RUST_LOG", "LOG_FORMAT")}
    env["CAMPAIGN_BOT__DATA_DIR"] = str(data_dir)
    # every=0: one slot a year, never during a run.
    env["CAMPAIGN_BOT__SCHEDULE__SLOTS"] = f"*/{every} * * * * *" if every else "0 9 1 1 *"
    env["CAMPAIGN_BOT__SCHEDULE__GRACE"] = "5m"
    env["LOG_FORMAT"] = "json"
    env["RUST_LOG"] = "warn"
    for i in range(n):
        env[f"CAMPAIGN_BOT__TARGETS__T{i:03}__KIND"] = "outbox"
    return env


def generate(binary, data_dir, posts, targets):
    """A store with `posts` published posts over `targets` targets, one slot
    an hour back from now, and the outbox lines they wrote."""
    data_dir = Path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    # Let the bot create (and migrate) its own store first.
    subprocess.run([binary, "status"], env=env_for(targets, data_dir, 10), cwd=ROOT,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    conn = sqlite3.connect(data_dir / "state.db")
    conn.execute("PRAGMA journal_mode=WAL")
    texts = [("access-to-rights", "en", "Migration is in the hands of national governments, but its impact is local: that makes cities key players on migration. We reaffirm our commitment to ensure access to rights for all.\n\n#HumanRights #WeTogether #Cities4Migration")]
    now = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    rows, lines = [], []
    per_target = max(1, posts // targets)
    n = 0
    for t in range(targets):
        for k in range(per_target):
            if n >= posts:
                break
            slot_at = now - timedelta(hours=k + 1)
            slot = slot_at.strftime("%Y-%m-%dT%H:%M:%SZ")
            key = f"{t:03}{k:08}{random.getrandbits(64):016x}"
            mid, lang, text = texts[0]
            ts = (slot_at + timedelta(seconds=1)).isoformat()
            rows.append((key, slot, slot_at.isoformat(), f"t{t:03}", mid, lang, text, "published",
                         f"outbox:{key}", 1, ts, ts, ts, 6, 0))
            lines.append(json.dumps({"posted_at": ts, "slot": slot, "target": f"t{t:03}", "message_id": mid,
                                     "lang": lang, "text": text, "key": key}, separators=(",", ":"), ensure_ascii=False))
            n += 1
    conn.executemany(
        "INSERT INTO intents (key, slot, slot_at, target, message_id, lang, text, state, remote_id, attempts,"
        " created_at, updated_at, published_at, next_check, gone) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
    conn.commit()
    conn.close()
    with open(data_dir / "outbox.jsonl", "a") as f:
        f.write("\n".join(lines) + "\n")
    return n


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def status_value(pid, key):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(key):
            return int(line.split()[1])
    return 0


def run(binary, n, slots, prefill, every):
    work = Path(tempfile.mkdtemp())
    shutil.copytree(ROOT / "posts", work / "posts")
    data = work / "data"
    if prefill:
        generate(binary, data, prefill, n)
    env = env_for(n, data, every)
    proc = subprocess.Popen([binary, "run"], cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    # Sample CPU just before each slot instant.
    samples = []
    first = None
    for _ in range(slots + 1):
        now = time.time()
        nxt = (int(now) // every + 1) * every
        time.sleep(max(0, nxt - 0.05 - now))
        samples.append((nxt, cpu_seconds(proc.pid)))
        if first is None:
            first = nxt
        time.sleep(0.1)
    rss_kib = status_value(proc.pid, "VmRSS")
    threads = status_value(proc.pid, "Threads")
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    cpu = [round(b[1] - a[1], 3) for a, b in zip(samples, samples[1:])]
    conn = sqlite3.connect(f"file:{data / 'state.db'}?mode=ro", uri=True)
    latency = []
    for slot_at, _ in samples[:-1]:
        iso = datetime.fromtimestamp(slot_at, timezone.utc).isoformat()
        row = conn.execute(
            "SELECT count(*), max(updated_at) FROM intents WHERE slot_at = ? AND state = 'published'", (iso,)).fetchone()
        if row[0] == 0:
            latency.append(None)
            continue
        last = datetime.fromisoformat(row[1])
        latency.append(round((last - datetime.fromtimestamp(slot_at, timezone.utc)).total_seconds(), 3))
    posted = [conn.execute("SELECT count(*) FROM intents WHERE slot_at = ? AND state='published'",
                           (datetime.fromtimestamp(s, timezone.utc).isoformat(),)).fetchone()[0] for s, _ in samples[:-1]]
    conn.close()
    shutil.rmtree(work, ignore_errors=True)
    return {"targets": n, "slots": slots, "prefill": prefill, "latency_s": latency, "cpu_s": cpu,
            "posted": posted, "rss_mib": round(rss_kib / 1024, 1), "threads": threads}


KINDS = ["mastodon", "bluesky", "telegram", "x", "linkedin", "threads", "facebook", "instagram"]


def operator_env(env, work, mock):
    """One target of each network kind on `mock`, secrets in files, the
    HTTP endpoint on a free loopback port."""
    secrets = work / "secrets"
    secrets.mkdir(mode=0o700)
    now = datetime.now(timezone.utc)
    token = json.dumps({"access_token": "bench", "refresh_token": "bench",
                        "issued_at": now.isoformat(), "expires_at": (now + timedelta(days=50)).isoformat()})
    for name, content in [("masto", "bench-token"), ("sky", "bench"), ("tg", "123:bench"), ("oauth.json", token)]:
        (secrets / name).write_text(content)
        (secrets / name).chmod(0o600)
    t = "CAMPAIGN_BOT__TARGETS__"
    oauth = str(secrets / "oauth.json")
    env.update({
        "CAMPAIGN_BOT__SERVER__LISTEN": f"127.0.0.1:{free_port()}",
        t + "MA__KIND": "mastodon", t + "MA__BASE_URL": mock, t + "MA__TOKEN_FILE": str(secrets / "masto"),
        t + "SK__KIND": "bluesky", t + "SK__SERVICE": mock, t + "SK__IDENTIFIER": "bench.test",
        t + "SK__PASSWORD_FILE": str(secrets / "sky"),
        t + "TG__KIND": "telegram", t + "TG__API_URL": mock, t + "TG__CHANNEL": "@bench",
        t + "TG__TOKEN_FILE": str(secrets / "tg"),
        t + "X__KIND": "x", t + "X__API_URL": mock, t + "X__TOKEN_FILE": oauth, t + "X__CLIENT_ID": "bench",
        t + "X__REDIRECT_URI": "https://example.org/callback",
        t + "LI__KIND": "linkedin", t + "LI__API_URL": mock, t + "LI__ORGANIZATION": "2414183", t + "LI__TOKEN_FILE": oauth,
        t + "TH__KIND": "threads", t + "TH__API_URL": mock, t + "TH__TOKEN_FILE": oauth,
        t + "TH__MEDIA_BASE_URL": "https://example.org/posts",
        t + "FB__KIND": "facebook", t + "FB__API_URL": mock, t + "FB__PAGE": "175154750010052", t + "FB__TOKEN_FILE": oauth,
        t + "IG__KIND": "instagram", t + "IG__API_URL": mock, t + "IG__ACCOUNT": "17841405822304914",
        t + "IG__TOKEN_FILE": oauth, t + "IG__MEDIA_BASE_URL": "https://example.org/posts",
    })
    # The default outbox target off: only the networks.
    env[t + "T000__ENABLED"] = "false"


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def idle(binary, secs, posts, prefill, operator=False):
    """RSS (KiB) of the daemon `secs` after its start, with no slot due."""
    work = Path(tempfile.mkdtemp())
    shutil.copytree(posts, work / "posts")
    data = work / "data"
    if prefill:
        generate(binary, data, prefill, 1)
    env = env_for(1, data, 0)
    mock = None
    if operator:
        port_file = work / "mock-port"
        mock = subprocess.Popen([sys.executable, str(ROOT / "scripts/mastodon-mock.py"),
                                 str(Path(os.environ.get("SHARED_DIR", ROOT.parent / "shared")) / "fixtures/mastodon"), str(port_file)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(100):
            if port_file.exists() and port_file.read_text().strip():
                break
            time.sleep(0.05)
        operator_env(env, work, f"http://127.0.0.1:{port_file.read_text().strip()}")
    proc = subprocess.Popen([binary, "run"], cwd=work, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(secs)
    rss_kib, hwm_kib = status_value(proc.pid, "VmRSS"), status_value(proc.pid, "VmHWM")
    threads = status_value(proc.pid, "Threads")
    running = proc.poll() is None
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    if mock:
        mock.terminate()
        mock.wait()
    shutil.rmtree(work, ignore_errors=True)
    assert running, "the daemon stopped before it was measured"
    return {"rss_mib": round(rss_kib / 1024, 1), "peak_mib": round(hwm_kib / 1024, 1), "threads": threads}


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--idle":
        ap = argparse.ArgumentParser()
        ap.add_argument("--idle", dest="binary")
        ap.add_argument("secs", type=float)
        ap.add_argument("--posts", default=str(ROOT / "posts"))
        ap.add_argument("--prefill", type=int, default=0)
        ap.add_argument("--operator", action="store_true")
        a = ap.parse_args()
        print(json.dumps(idle(str(Path(a.binary).resolve()), a.secs, a.posts, a.prefill, a.operator)))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "--generate":
        data, posts = sys.argv[2], int(sys.argv[3])
        targets = int(sys.argv[4]) if len(sys.argv) > 4 else 100
        binary = os.environ.get("BIN", str(ROOT / "target/release/campaign-bot"))
        print(generate(binary, data, posts, targets))
        return
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("targets", type=int)
    ap.add_argument("slots", type=int)
    ap.add_argument("--prefill", type=int, default=0)
    ap.add_argument("--every", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    r = run(str(Path(a.binary).resolve()), a.targets, a.slots, a.prefill, a.every)
    if a.json:
        print(json.dumps(r))
        return
    lat = [x for x in r["latency_s"] if x is not None]
    def mean(xs):
        return round(sum(xs) / len(xs), 3) if xs else None
    print(f"{r['targets']} targets, {r['slots']} slots, prefill {r['prefill']}: "
          f"latency first5 {mean(lat[:5])} s last5 {mean(lat[-5:])} s max {max(lat) if lat else None} s; "
          f"cpu/slot first5 {mean(r['cpu_s'][:5])} s last5 {mean(r['cpu_s'][-5:])} s; "
          f"posted/slot min {min(r['posted'])}; rss {r['rss_mib']} MiB; threads {r['threads']}")


main()
