#!/usr/bin/env bash
# The benchmarks of the performance goals, in one run: builds in release
# mode, measures, and prints a table (paste it into BENCHMARKS.md).
#   idle      RSS and CPU time of `run` over 60 s, and its wake-ups
#   scale     `validate --offline` over 1,000 / 10,000 / 50,000 post files
#             of real length x 3 languages x 2 targets (scripts/gen-posts.py)
#   memory    idle RSS with 10 and 10,000 posts, and on a 100,000-post store
#   slots     latency and CPU per slot for 1 / 10 / 100 / 500 outbox targets,
#             on an empty and a 100,000-post store (scripts/slot-bench.py)
#   post      one `post-now` against `toot post`, to the project's mock of
#             Mastodon (scripts/mastodon-mock.py; no Mastodon-API server
#             can be installed here), peak RSS by /usr/bin/time
#   report    `report` (table, CSV, HTML) on a year of checks for 100 targets
#             (scripts/report-bench.py: 52,200 posts, 307,000 checks)
#   budget    engagement API calls for 1,000 posts over 30 simulated days
#   size      the release binary
# Usage: scripts/bench.sh [--quick]   (--quick: 10 s idle, 3 runs, 5 slots;
# the full run takes about 25 minutes)
# BENCH_BIN=PATH measures that binary instead of building this tree (to
# compare with an earlier commit's build; the engagement budget is still
# this tree's, from `cargo bench`).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SHARED=${SHARED_DIR:-$ROOT/../shared}
QUICK=${1:-}
IDLE_SECS=60; RUNS=10
if [ "$QUICK" = "--quick" ]; then IDLE_SECS=10; RUNS=3; fi

need() { command -v "$1" >/dev/null || { export DEBIAN_FRONTEND=noninteractive; apt-get update -qq >/dev/null; apt-get install -y -qq "$2" >/dev/null; }; }
need toot toot
[ -x /usr/bin/time ] || need /usr/bin/time time

if [ -n "${BENCH_BIN:-}" ]; then
  BIN=$(realpath "$BENCH_BIN")
  WHAT="binary $BIN"
else
  echo "building (release) …" >&2
  cargo build --release --locked -q
  BIN=$ROOT/target/release/campaign-bot
  WHAT="commit $(git rev-parse --short HEAD)"
fi
# Measured now: `cargo bench` (the engagement budget, below) builds the
# binary again with unwinding, which benches need.
SIZE=$(stat -c %s "$BIN")
WORK=$(mktemp -d)
MOCK_PID=""
cleanup() { [ -n "$MOCK_PID" ] && kill "$MOCK_PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
unset $(env | grep -o '^CAMPAIGN_BOT[^=]*') 2>/dev/null || true

# ---- idle -------------------------------------------------------------------
# The daemon on the shipped posts and config (two slots a day). Context
# switches are counted from 15 s on (after start-up and tokio's idle
# blocking threads have gone); CPU time is the whole run's, from wait4.
echo "idle: run for ${IDLE_SECS} s …" >&2
mkdir -p "$WORK/idle" && cp -r posts "$WORK/idle/"
read -r RSS HWM START_CPU TOTAL_CPU IDLE_WAKEUPS WINDOW < <(cd "$WORK/idle" && python3 - "$BIN" "$IDLE_SECS" <<'EOF'
import os, signal, subprocess, sys, time
binary, secs = sys.argv[1], int(sys.argv[2])
settle = min(15, secs // 2)
def switches(pid):
    total = 0
    for t in os.listdir(f"/proc/{pid}/task"):
        for line in open(f"/proc/{pid}/task/{t}/status"):
            if "ctxt_switches" in line:
                total += int(line.split()[1])
    return total
def cpu_ms(pid):
    return sum(int(open(f"/proc/{pid}/task/{t}/schedstat").read().split()[0])
               for t in os.listdir(f"/proc/{pid}/task")) / 1e6
def status(pid, key):
    return next(int(l.split()[1]) for l in open(f"/proc/{pid}/status") if l.startswith(key))
p = subprocess.Popen([binary, "run"], stdout=open("run.log", "w"), stderr=subprocess.STDOUT)
time.sleep(2)
start_cpu = cpu_ms(p.pid)
time.sleep(settle - 2)
s0 = switches(p.pid)
time.sleep(secs - settle)
s1 = switches(p.pid)
rss, hwm = status(p.pid, "VmRSS"), status(p.pid, "VmHWM")
p.send_signal(signal.SIGTERM)
_, _, usage = os.wait4(p.pid, 0)
total = (usage.ru_utime + usage.ru_stime) * 1000
print(rss, hwm, f"{start_cpu:.1f}", f"{total:.1f}", s1 - s0, secs - settle)
EOF
)

# ---- validate at scale ------------------------------------------------------
# Post files of real length (the shipped texts, en/fr/ar, each file its
# own id), validated offline for a Mastodon and a Bluesky target (the
# default outbox switched off).
scale_env=(CAMPAIGN_BOT__TARGETS__OUTBOX__KIND=outbox CAMPAIGN_BOT__TARGETS__OUTBOX__ENABLED=false
  CAMPAIGN_BOT__TARGETS__MASTO__KIND=mastodon CAMPAIGN_BOT__TARGETS__MASTO__BASE_URL=https://mastodon.example
  CAMPAIGN_BOT__TARGETS__MASTO__TOKEN_ENV=MASTO_PW MASTO_PW=x
  CAMPAIGN_BOT__TARGETS__SKY__KIND=bluesky CAMPAIGN_BOT__TARGETS__SKY__IDENTIFIER=bench.test
  CAMPAIGN_BOT__TARGETS__SKY__PASSWORD_ENV=SKY_PW SKY_PW=x)
declare -A SCALE
for n in 1000 10000 50000; do
  echo "scale: validate --offline, $n files of real length …" >&2
  python3 scripts/gen-posts.py "$WORK/scale$n/posts" "$n" >/dev/null
  SCALE[$n]=$(cd "$WORK/scale$n" && python3 - "$BIN" "$RUNS" "$n" "${scale_env[@]}" <<'PY'
import os, subprocess, sys, time, statistics
binary, runs, n, env = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), dict(os.environ)
for kv in sys.argv[4:]:
    k, v = kv.split("=", 1); env[k] = v
times = []
for _ in range(max(3, runs * 10000 // max(n, 10000))):
    t = time.perf_counter()
    out = subprocess.run([binary, "validate", "--offline"], env=env, capture_output=True, text=True)
    times.append(time.perf_counter() - t)
    assert f"{n} rotation messages" in out.stdout and "2 targets (masto, sky)" in out.stdout, out.stdout[-500:]
print(f"{statistics.median(times):.3f} [{min(times):.3f}–{max(times):.3f}]")
PY
)
done

# ---- memory: idle with many posts, and with a year of history -------------
echo "memory: idle daemon with 10 and 10,000 posts, and on a 100,000-post store …" >&2
IDLE_10=$(python3 scripts/slot-bench.py --idle "$BIN" 10)
IDLE_OPERATOR=$(SHARED_DIR="$SHARED" python3 scripts/slot-bench.py --idle "$BIN" 10 --operator)
IDLE_10K=$(python3 scripts/slot-bench.py --idle "$BIN" 10 --posts "$WORK/scale10000/posts")
IDLE_STORE=$(python3 scripts/slot-bench.py --idle "$BIN" 10 --prefill 100000)

# ---- slots: latency and CPU per slot as targets and history grow -----------
# N outbox targets, a slot every 2 s (4 s for 500), for SLOTS slots, on an
# empty store and on one holding 100,000 published posts.
SLOTS=30; [ "$QUICK" = "--quick" ] && SLOTS=5
SLOT_ROWS=""
for n in 1 10 100 500; do
  for prefill in 0 100000; do
    echo "slots: $n targets, store of $prefill posts, $SLOTS slots …" >&2
    every=2; [ "$n" -ge 500 ] && every=4
    SLOT_ROWS+=$(python3 scripts/slot-bench.py "$BIN" "$n" "$SLOTS" --prefill "$prefill" --every "$every" --json)$'\n'
  done
done

# ---- one post: campaign-bot post-now against toot post ---------------------
echo "post: campaign-bot post-now against toot post, ${RUNS} runs each …" >&2
python3 scripts/mastodon-mock.py "$SHARED/fixtures/mastodon" "$WORK/port" &
MOCK_PID=$!
for _ in $(seq 50); do [ -s "$WORK/port" ] && break; sleep 0.1; done
PORT=$(cat "$WORK/port")
export XDG_CONFIG_HOME="$WORK/toot-config"
mkdir -p "$XDG_CONFIG_HOME/toot"
cat >"$XDG_CONFIG_HOME/toot/config.json" <<EOF
{"apps": {"127.0.0.1:$PORT": {"instance": "127.0.0.1:$PORT", "base_url": "http://127.0.0.1:$PORT", "client_id": "bench", "client_secret": "bench"}},
 "users": {"bench@127.0.0.1:$PORT": {"instance": "127.0.0.1:$PORT", "username": "bench", "access_token": "bench-token"}},
 "active_user": "bench@127.0.0.1:$PORT"}
EOF
mkdir -p "$WORK/post" && cp -r posts "$WORK/post/"
# The same text-only post as toot's: the message without its card.
python3 -c 'import re, sys; p = sys.argv[1]; s = open(p).read(); open(p, "w").write(re.sub(r"\n(# [^\n]*\n)?\[\[media\]\].*", "\n", s, flags=re.S))' "$WORK/post/posts/rotation/01-access-to-rights.toml"
post_env=(CAMPAIGN_BOT__TARGETS__MASTO__KIND=mastodon CAMPAIGN_BOT__TARGETS__MASTO__BASE_URL=http://127.0.0.1:$PORT
  CAMPAIGN_BOT__TARGETS__MASTO__TOKEN_ENV=MASTO_TOKEN MASTO_TOKEN=bench-token)
# toot posts the same text as campaign-bot: the message, its tags and the
# campaign's hashtags.
TEXT=$(python3 -c 'import sys, tomllib; p = tomllib.load(open(sys.argv[1], "rb")); print(p["text"]["en"].strip() + "\n\n" + " ".join("#" + t for t in p.get("tags", []) + ["WeTogether", "Cities4Migration"]))' posts/rotation/01-access-to-rights.toml)
# Alternated runs of the same text-only post (toot posts text only);
# wall time by perf_counter, peak RSS from wait4's rusage.
read -r BOT_T BOT_M TOOT_T TOOT_M < <(cd "$WORK/post" && env "${post_env[@]}" python3 - "$BIN" "$RUNS" "$TEXT" <<'EOF'
import os, statistics, subprocess, sys, time
binary, runs, text = sys.argv[1], int(sys.argv[2]), sys.argv[3]
# Peak RSS by /usr/bin/time (its child is the measured program itself):
# wait4 from this Python process would report at least Python's own size,
# as the child is a fork of it until exec.
def measure(argv):
    t = time.perf_counter()
    r, w = os.pipe()
    p = subprocess.Popen(["/usr/bin/time", "-f", "%M", "-o", f"/dev/fd/{w}", *argv], stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, pass_fds=(w,))
    os.close(w)
    err = p.stderr.read()
    p.wait()
    elapsed = time.perf_counter() - t
    peak = int(os.read(r, 64).decode().split()[-1])
    os.close(r)
    assert p.returncode == 0, (argv, err)
    return elapsed, peak  # KiB
bot, toot = [], []
for i in range(runs):
    bot.append(measure([binary, "post-now", "access-to-rights", "--target", "masto", "--lang", "en",
                        "--slot", f"2027-01-01T{i // 60:02}:{i % 60:02}:00Z"]))
    toot.append(measure(["toot", "post", "--visibility", "public", text]))
med = lambda xs, k: statistics.median(x[k] for x in xs)
print(f"{med(bot, 0):.4f} {med(bot, 1):.0f} {med(toot, 0):.4f} {med(toot, 1):.0f}")
EOF
)

# ---- report on a year of checks ----------------------------------------------
echo "report: a year of checks for 100 targets …" >&2
REPORT=$(python3 scripts/report-bench.py "$BIN" 100 3)

# ---- engagement budget ------------------------------------------------------
echo "budget: 30 simulated days …" >&2
BUDGET=$(cargo bench --locked -q --bench engagement_budget 2>/dev/null | grep "engagement calls")


printf '\n%s\n' "campaign-bot benchmarks — $(date -u +%Y-%m-%dT%H:%MZ), $WHAT, $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -m)"
printf '| %-48s | %-30s | %-26s |\n' "measure" "result" "goal"
printf '|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..50})" "$(printf -- '-%.0s' {1..32})" "$(printf -- '-%.0s' {1..28})"
printf '| %-48s | %-30s | %-26s |\n' "idle: RSS after ${IDLE_SECS} s (peak)" "$((RSS / 1024)).$(( (RSS % 1024) * 10 / 1024 )) MB ($((HWM / 1024)).$(( (HWM % 1024) * 10 / 1024 )) MB)" "<= 10 MiB"
printf '| %-48s | %-30s | %-26s |\n' "idle: CPU time, first 2 s / whole run" "${START_CPU} ms / ${TOTAL_CPU} ms" "-"
printf '| %-48s | %-30s | %-26s |\n' "idle: context switches after start-up" "$IDLE_WAKEUPS (in the last $WINDOW s)" "no wake-ups between events"
for n in 1000 10000 50000; do
  goal="-"; [ "$n" = 10000 ] && goal="<= 0.2 s"; [ "$n" = 50000 ] && goal="linear (5x the 10,000)"
  printf '| %-48s | %-30s | %-26s |\n' "validate --offline: $n files of real length" "${SCALE[$n]} s" "$goal"
done
mib() { python3 -c 'import json, sys; r = json.loads(sys.argv[1]); print("%s MiB, %s threads" % (r["rss_mib"], r["threads"]))' "$1"; }
printf '| %-48s | %-30s | %-26s |\n' "idle: RSS, shipped posts (10)" "$(mib "$IDLE_10")" "<= 10 MiB"
printf '| %-48s | %-30s | %-26s |\n' "idle: RSS, endpoint on, a target of each kind" "$(mib "$IDLE_OPERATOR")" "<= 10 MiB"
printf '| %-48s | %-30s | %-26s |\n' "idle: RSS, 10,000 posts of real length" "$(mib "$IDLE_10K")" "<= 16 MiB"
printf '| %-48s | %-30s | %-26s |\n' "idle: RSS, shipped posts, 100,000-post store" "$(mib "$IDLE_STORE")" "= shipped posts"
printf '| %-48s | %-30s | %-26s |\n' "post: campaign-bot post-now, wall / peak RSS" "$(awk -v t="$BOT_T" -v m="$BOT_M" 'BEGIN {printf "%.1f ms / %.1f MB", t * 1000, m / 1024}')" "- / <= 8 MB"
printf '| %-48s | %-30s | %-26s |\n' "post: toot post, wall / peak RSS" "$(awk -v t="$TOOT_T" -v m="$TOOT_M" 'BEGIN {printf "%.1f ms / %.1f MB", t * 1000, m / 1024}')" "-"
printf '| %-48s | %-30s | %-26s |\n' "post: toot ÷ campaign-bot, wall / memory" "$(awk -v a="$TOOT_T" -v b="$BOT_T" 'BEGIN {printf "%.1fx", (b > 0 ? a / b : 0)}') / $(awk -v a="$TOOT_M" -v b="$BOT_M" 'BEGIN {printf "%.1fx", a / b}')" ">= 10x / >= 5x"
printf '| %-48s | %-30s | %-26s |\n' "engagement calls, 1,000 posts, 30 days" "$(echo "$BUDGET" | sed 's/.*: //; s/ (.*//')" "<= 400 per network"
rep() { python3 -c 'import json, sys; r = json.loads(sys.argv[1]); print(r[sys.argv[2]])' "$REPORT" "$1"; }
printf '| %-48s | %-30s | %-26s |\n' "report, a year for 100 targets (52k posts): table" "$(rep table) s" "< 1 s"
printf '| %-48s | %-30s | %-26s |\n' "report, the same: --format csv / --html" "$(rep csv) / $(rep html) s" "< 1 s"
printf '| %-48s | %-30s | %-26s |\n' "release binary size" "$(awk -v s="$SIZE" 'BEGIN {printf "%.1f MB", s/1048576}')" "<= 15 MB"

# Slot latency (slot instant -> last target's post recorded) and the
# daemon's CPU per slot, over the run's slots.
printf '\n%s\n' "slots: outbox targets, ${SLOTS} slots each (latency = slot instant -> the last target's post recorded)"
python3 - "$SLOT_ROWS" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in sys.argv[1].splitlines() if l.strip()]
print("| targets | store | latency median [min–max] | first 5 / last 5 | CPU per slot median | posted | RSS | threads |")
print("|---|---|---|---|---|---|---|---|")
for r in rows:
    lat = [x for x in r["latency_s"] if x is not None]
    missed = len(r["latency_s"]) - len(lat)
    mean = lambda xs: f"{sum(xs) / len(xs):.3f}" if xs else "-"
    posted = "all" if min(r["posted"]) == r["targets"] else f"min {min(r['posted'])} of {r['targets']}"
    print(f"| {r['targets']} | {r['prefill']:,} posts | {statistics.median(lat):.3f} s [{min(lat):.3f}–{max(lat):.3f}]"
          f"{f', {missed} missed' if missed else ''} | {mean(lat[:5])} / {mean(lat[-5:])} s"
          f" | {statistics.median(r['cpu_s']):.3f} s | {posted} | {r['rss_mib']} MiB | {r['threads']} |")
PY
