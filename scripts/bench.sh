#!/usr/bin/env bash
# The benchmarks of the performance goals, in one run: builds in release
# mode, measures, and prints a table (paste it into BENCHMARKS.md).
#   idle      RSS and CPU time of `run` over 60 s, and its wake-ups
#   scale     `validate` over 10,000 post files x 3 languages x 2 targets
#   post      one `post-now` against `toot post`, to a local Mastodon-like server
#   budget    engagement API calls for 1,000 posts over 30 simulated days
#   size      the release binary
# Usage: scripts/bench.sh [--quick]   (--quick: 10 s idle, 3 runs each)
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

echo "building (release) …" >&2
cargo build --release --locked -q
BIN=$ROOT/target/release/campaign-bot
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
echo "scale: generating 10,000 post files …" >&2
mkdir -p "$WORK/scale/posts/rotation" "$WORK/scale/posts/queue"
python3 - "$WORK/scale/posts/rotation" <<'EOF'
import sys, pathlib
d = pathlib.Path(sys.argv[1])
for i in range(10000):
    (d / f"m{i:05}.toml").write_text(
        f'commitment = {i % 6 + 1}\ntags = ["HumanRights"]\n[text]\n'
        f'en = "Cities are committed to ensuring access to rights for all, message {i}."\n'
        f'fr = "Les villes s\'engagent à garantir l\'accès aux droits pour toutes et tous, message {i}."\n'
        f'ar = "تلتزم المدن بضمان وصول الجميع إلى حقوقهم، الرسالة {i}."\n'
    )
EOF
# Two targets with limits to measure against: Mastodon (offline: its
# default 500 characters) and Bluesky; the default outbox is switched off.
scale_env=(CAMPAIGN_BOT__TARGETS__OUTBOX__KIND=outbox CAMPAIGN_BOT__TARGETS__OUTBOX__ENABLED=false
  CAMPAIGN_BOT__TARGETS__MASTO__KIND=mastodon CAMPAIGN_BOT__TARGETS__MASTO__BASE_URL=https://mastodon.example
  CAMPAIGN_BOT__TARGETS__MASTO__TOKEN_ENV=MASTO_PW MASTO_PW=x
  CAMPAIGN_BOT__TARGETS__SKY__KIND=bluesky CAMPAIGN_BOT__TARGETS__SKY__IDENTIFIER=bench.test
  CAMPAIGN_BOT__TARGETS__SKY__PASSWORD_ENV=SKY_PW SKY_PW=x)
SCALE=$(cd "$WORK/scale" && python3 - "$BIN" "$RUNS" "${scale_env[@]}" <<'EOF'
import os, subprocess, sys, time, statistics
binary, runs, env = sys.argv[1], int(sys.argv[2]), dict(os.environ)
for kv in sys.argv[3:]:
    k, v = kv.split("=", 1); env[k] = v
times = []
for _ in range(runs):
    t = time.perf_counter()
    out = subprocess.run([binary, "validate", "--offline"], env=env, capture_output=True, text=True)
    times.append(time.perf_counter() - t)
    assert "10000 rotation messages" in out.stdout and "2 targets (masto, sky)" in out.stdout, out.stdout[-500:]
print(f"{statistics.median(times):.3f}")
EOF
)

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
def measure(argv):
    t = time.perf_counter()
    p = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    elapsed = time.perf_counter() - t
    assert status == 0, (argv, p.stderr.read())
    return elapsed, usage.ru_maxrss  # KiB
bot, toot = [], []
for i in range(runs):
    bot.append(measure([binary, "post-now", "access-to-rights", "--target", "masto", "--lang", "en",
                        "--slot", f"2027-01-01T{i // 60:02}:{i % 60:02}:00Z"]))
    toot.append(measure(["toot", "post", "--visibility", "public", text]))
med = lambda xs, k: statistics.median(x[k] for x in xs)
print(f"{med(bot, 0):.4f} {med(bot, 1):.0f} {med(toot, 0):.4f} {med(toot, 1):.0f}")
EOF
)

# ---- engagement budget ------------------------------------------------------
echo "budget: 30 simulated days …" >&2
BUDGET=$(cargo bench --locked -q --bench engagement_budget 2>/dev/null | grep "engagement calls")

SIZE=$(stat -c %s "$BIN")

printf '\n%s\n' "campaign-bot benchmarks — $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD), $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -m)"
printf '| %-44s | %-30s | %-26s |\n' "measure" "result" "goal"
printf '|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..46})" "$(printf -- '-%.0s' {1..32})" "$(printf -- '-%.0s' {1..28})"
printf '| %-44s | %-30s | %-26s |\n' "idle: RSS after ${IDLE_SECS} s (peak)" "$((RSS / 1024)).$(( (RSS % 1024) * 10 / 1024 )) MB ($((HWM / 1024)).$(( (HWM % 1024) * 10 / 1024 )) MB)" "<= 12 MB"
printf '| %-44s | %-30s | %-26s |\n' "idle: CPU time, first 2 s / whole run" "${START_CPU} ms / ${TOTAL_CPU} ms" "-"
printf '| %-44s | %-30s | %-26s |\n' "idle: context switches after start-up" "$IDLE_WAKEUPS (in the last $WINDOW s)" "no wake-ups between events"
printf '| %-44s | %-30s | %-26s |\n' "validate: 10,000 files x 3 langs x 2 targets" "${SCALE} s (median of $RUNS)" "<= 0.5 s"
printf '| %-44s | %-30s | %-26s |\n' "post: campaign-bot post-now, wall / RSS" "$(awk -v t="$BOT_T" -v m="$BOT_M" 'BEGIN {printf "%.1f ms / %.1f MB", t * 1000, m / 1024}')" "-"
printf '| %-44s | %-30s | %-26s |\n' "post: toot post, wall / RSS" "$(awk -v t="$TOOT_T" -v m="$TOOT_M" 'BEGIN {printf "%.1f ms / %.1f MB", t * 1000, m / 1024}')" "-"
printf '| %-44s | %-30s | %-26s |\n' "post: toot ÷ campaign-bot, wall / memory" "$(awk -v a="$TOOT_T" -v b="$BOT_T" 'BEGIN {printf "%.1fx", (b > 0 ? a / b : 0)}') / $(awk -v a="$TOOT_M" -v b="$BOT_M" 'BEGIN {printf "%.1fx", a / b}')" ">= 10x / >= 5x"
printf '| %-44s | %-30s | %-26s |\n' "engagement calls, 1,000 posts, 30 days" "$(echo "$BUDGET" | sed 's/.*: //; s/ (.*//')" "<= 400 per network"
printf '| %-44s | %-30s | %-26s |\n' "release binary size" "$(awk -v s="$SIZE" 'BEGIN {printf "%.1f MB", s/1048576}')" "-"
