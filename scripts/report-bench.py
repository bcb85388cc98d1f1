#!/usr/bin/env python3
"""How long `report` takes on a year of checks: TARGETS targets posting twice
each weekday for a year (about 520 posts each), every post checked at the six
default ages, in three languages with texts of real length. Prints the
median wall time [min-max] of RUNS runs of each output, as JSON.

Usage: scripts/report-bench.py BINARY [TARGETS] [RUNS]
       scripts/report-bench.py --generate BINARY DATA_DIR [TARGETS]
The second form only writes the year of history into DATA_DIR (targets
t000, t001… of kind outbox; tests/shared_store.rs moves it into PostgreSQL)
and prints its counts as JSON.
"""
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEXTS = {
    "en": "Migration is in the hands of national governments, but its impact is local: that makes cities key players on migration. We reaffirm our commitment to ensure access to rights for all.",
    "fr": "Les compétences en matière de migration relèvent des gouvernements nationaux, mais leur impact est local : c’est ce qui fait des villes des actrices clés des migrations.",
    "ar": "تعود الاختصاصات في مجال الهجرة إلى الحكومات الوطنية، لكنّ أثرها محلي، وهذا ما يجعل المدن فاعلاً رئيسياً في قضايا الهجرة.",
}
CHECKS = [timedelta(hours=1), timedelta(hours=6), timedelta(days=1), timedelta(days=3), timedelta(days=7), timedelta(days=30)]


def env_for(data, targets):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CAMPAIGN_BOT") and k not in ("RUST_LOG", "LOG_FORMAT")}
    env["CAMPAIGN_BOT__DATA_DIR"] = str(data)
    for i in range(targets):
        env[f"CAMPAIGN_BOT__TARGETS__T{i:03}__KIND"] = "outbox"
    return env


def generate(binary, data, targets):
    subprocess.run([binary, "status"], env=env_for(data, targets), cwd=ROOT,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    conn = sqlite3.connect(data / "state.db")
    end = datetime.now(timezone.utc).replace(hour=8, minute=0, second=0, microsecond=0)
    day, slots = end - timedelta(days=365), []
    while day < end:
        if day.weekday() < 5:
            slots += [day, day + timedelta(hours=6, minutes=30)]
        day += timedelta(days=1)
    langs = list(TEXTS)
    intents, checks = [], []
    rnd = random.Random(17)
    for t in range(targets):
        for n, at in enumerate(slots):
            key = f"{t:03}{n:06}{rnd.getrandbits(64):016x}"
            lang = langs[n % 3]
            ts = (at + timedelta(seconds=1)).isoformat()
            intents.append((key, at.strftime("%Y-%m-%dT%H:%M:%SZ"), at.isoformat(), f"t{t:03}", f"message-{n % 10:02}",
                            lang, TEXTS[lang], "published", f"id-{key}", f"https://example.social/@bot/{key}",
                            1, ts, ts, ts, 6, 0))
            likes = rnd.randint(0, 40)
            for age in CHECKS:
                if at + age < end:
                    checks.append((key, (at + age).isoformat(), likes, likes // 3, likes // 5, None))
    conn.executemany(
        "INSERT INTO intents (key, slot, slot_at, target, message_id, lang, text, state, remote_id, url, attempts,"
        " created_at, updated_at, published_at, next_check, gone) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", intents)
    conn.executemany(
        "INSERT INTO engagement (intent_key, checked_at, likes, reposts, replies, quotes) VALUES (?,?,?,?,?,?)", checks)
    conn.commit()
    conn.close()
    return len(intents), len(checks)


def main():
    if sys.argv[1] == "--generate":
        binary, data = str(Path(sys.argv[2]).resolve()), Path(sys.argv[3])
        targets = int(sys.argv[4]) if len(sys.argv) > 4 else 100
        posts, checks = generate(binary, data, targets)
        print(json.dumps({"targets": targets, "posts": posts, "checks": checks}))
        return
    binary = str(Path(sys.argv[1]).resolve())
    targets = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    runs = int(sys.argv[3]) if len(sys.argv) > 3 else 5
    work = Path(tempfile.mkdtemp())
    data = work / "data"
    posts, checks = generate(binary, data, targets)
    env = env_for(data, targets)
    out = {"targets": targets, "posts": posts, "checks": checks}
    for name, args in [("table", ["report"]), ("csv", ["report", "--format", "csv"]),
                       ("html", ["report", "--html", str(work / "r.html")])]:
        times = []
        for _ in range(runs):
            t = time.perf_counter()
            p = subprocess.run([binary, *args], env=env, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            times.append(time.perf_counter() - t)
            assert p.returncode == 0, p.stderr
        out[name] = f"{statistics.median(times):.3f} [{min(times):.3f}–{max(times):.3f}]"
    print(json.dumps(out, ensure_ascii=False))


main()
