#!/usr/bin/env bash
# Load benchmark on loopback, one run, ratios to bare axum:
#
#   mcp-auth/benches/load.sh            # DURATION=5 CONNECTIONS=32 THREADS=1 ROUNDS=3 by default
#
# Runs the servers of mcp-auth/examples/load_servers.rs two at a time, the two of each ratio (bare
# axum and ours with the token cache on; axum with a hand-written jsonwebtoken check and ours with
# the cache off, for RS256, ES256 and EdDSA; floods of one forged token, and of random garbage
# against ours and bare axum; an rmcp tools/call behind ours in MCP mode and behind a
# hand-written cached bearer check), drives them with wrk in turn and prints req/s, p50/p99
# latency, the server's CPU time per request (utime+stime from /proc/<pid>/stat), the answers
# that were not 2xx, and the log lines each server wrote at RUST_LOG=info (SERVER_LOG, default
# `info,rmcp=warn,mcp_auth::audit=off`: rmcp logs three info lines per request, ours none; the
# audit trail, one line per decision by design, goes to a sink of its own in production and is
# off here); then the ratios the performance targets name. Installs wrk with apt-get when it is
# missing. Every pair runs ROUNDS times, the rounds one after the other (a server process'
# throughput varies by a few percent from one start to the next, with where its threads land):
# the table shows each server's median, the ratios are those of the medians, and each target's
# ratio is also shown per round.
#
# The two servers of a pair are up at once and driven in turns of SLICE_MS milliseconds (100 by
# default), A B B A ..., DURATION seconds each (see `pair`).
#
# PIN=1 (the default on a machine with two cores or more and `taskset`) runs the servers on the
# last core and wrk on the others, so that they do not trade cores from one second to the next
# (unpinned on two cores, one server's req/s moved by up to 20 % between rounds); PIN=0 leaves
# the scheduler free. ONLY="bare ours-cache" runs only the pairs of the servers named (a quick
# A/B); SHOW_ROUNDS=1 prints each round's figures too.
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-5}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-1}
ROUNDS=${ROUNDS:-3}
SLICE_MS=${SLICE_MS:-100}
PORT=${PORT:-3290}
CORES=$(nproc)
if [ "${PIN:-1}" = 1 ] && [ "$CORES" -ge 2 ] && command -v taskset >/dev/null; then
  SERVER_CPUS=$((CORES - 1))
  CLIENT_CPUS="0-$((CORES - 2))"
  ON_SERVER=(taskset -c "$SERVER_CPUS")
  ON_CLIENT=(taskset -c "$CLIENT_CPUS")
  PINNING="server on CPU $SERVER_CPUS, wrk on CPU $CLIENT_CPUS"
  # This script's own work (the turns, the sleeps) stays off the server's core too.
  taskset -pc "$CLIENT_CPUS" $$ >/dev/null
else
  ON_SERVER=()
  ON_CLIENT=()
  PINNING="unpinned"
fi

if ! command -v wrk >/dev/null; then
  echo "installing wrk" >&2
  if [ "$(id -u)" = 0 ]; then apt-get install -y wrk >/dev/null; else sudo apt-get install -y wrk >/dev/null; fi
fi
# BIN=path: drive that build of load_servers instead (e.g. an older commit's, for a before/after
# comparison on the same machine state); without it, the current tree is built.
if [ -z "${BIN:-}" ]; then
  cargo build --release -q -p mcp-auth --example load_servers
  BIN=target/release/examples/load_servers
fi
WORK=$(mktemp -d)
# SERVER: the pids of the pair's servers; CLIENTS: of its two wrk, which may be stopped (split on
# purpose).
trap 'rm -rf "$WORK"; [ -n "${CLIENTS:-}" ] && kill -KILL $CLIENTS 2>/dev/null; [ -n "${SERVER:-}" ] && kill $SERVER 2>/dev/null || true' EXIT
TICKS=$(getconf CLK_TCK)

# Random garbage tokens, 100,000 distinct ones built before the run and sent in turn (more than
# the 10,000 refusals the negative cache remembers, so none is served from it; building each
# request in Lua during the run made wrk the bottleneck).
cat >"$WORK/garbage.lua" <<'EOF'
local chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
local count = 100000
local requests = {}
local next_request = 0
local function seg(n)
  local t = {}
  for i = 1, n do local k = math.random(1, #chars); t[i] = chars:sub(k, k) end
  return table.concat(t)
end
init = function()
  math.randomseed(os.time())
  for i = 1, count do
    requests[i] = wrk.format("GET", nil, { Authorization = "Bearer " .. seg(36) .. "." .. seg(120) .. "." .. seg(86) })
  end
end
request = function()
  next_request = next_request % count + 1
  return requests[next_request]
end
EOF
cat >"$WORK/mcp.lua" <<'EOF'
wrk.method = "POST"
wrk.body = '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json, text/event-stream"
wrk.headers["MCP-Protocol-Version"] = "2026-07-28"
wrk.headers["Mcp-Method"] = "tools/call"
wrk.headers["Mcp-Name"] = "echo"
EOF

# proc_stat PID: the fields of /proc/PID/stat in `stat` (stat[2]: the state, stat[19]: the
# number of threads); fails once the process is gone or a zombie.
proc_stat() { { read -r -a stat <"/proc/$1/stat"; } 2>/dev/null && [ "${stat[2]}" != Z ]; }
# cpu_ticks PID: the CPU time of a live process so far, user and system, in clock ticks.
cpu_ticks() { proc_stat "$1" && echo $((stat[13] + stat[14])); }

# [ALG=..] pair NAME_A MODE_A NAME_B MODE_B PATH TOKEN_KIND [LUA]: the two servers of a ratio up
# at once, both on the server core, each driven by a wrk of its own that runs only in turns of
# SLICE_MS milliseconds (default 100): the other one is stopped (SIGSTOP) meanwhile, so that one
# server at a time has the core, in the order A B B A A B ..., until each had DURATION seconds.
# The VM's neighbours move throughput by 10 % or more from one second to the next: taken in
# turns this short, both servers see the same machine, and the ratio measures the servers (run
# against itself, bare axum's or ours, a server's ratio stayed within 0.97 and 1.01 in 4 rounds
# each; in turns of a second, with a new wrk for each, it spread from 0.88 to 1.11, and one after
# the other, 5 seconds each, bare axum against ours with the cache on moved between 0.65 and
# 1.16); the absolute figures still move by up to 25 % from one round to the next. req/s: a
# server's requests over the time its wrk ran; CPU per request: its ticks over its requests. A
# request in flight when its wrk stops waits for the next turn, so the latencies come from two
# plain one-second runs of each server afterwards (A B B A; p50, p99: the mean of its two).
pair() {
  local a=$1 mode_a=$2 b=$3 mode_b=$4 path=$5 kind=$6 lua=${7:-}
  local script=()
  [ -n "$lua" ] && script=(-s "$WORK/$lua")
  if [ -n "${ONLY:-}" ] && [[ " $ONLY " != *" $a "* ]] && [[ " $ONLY " != *" $b "* ]]; then return; fi
  local names=("$a" "$b") modes=("$mode_a" "$mode_b") pids=() i
  # The two trade places every other round: what the order of the turns leaves over (the first
  # turn, the last) weighs on both alike.
  if [ $((round % 2)) = 0 ]; then names=("$b" "$a") modes=("$mode_b" "$mode_a"); fi
  for i in 0 1; do
    mkdir -p "$WORK/$i"
    rm -f "$WORK/$i/ready.out"
    RUST_LOG=${SERVER_LOG:-info,rmcp=warn,mcp_auth::audit=off} ALG=${ALG:-RS256} "${ON_SERVER[@]}" "$BIN" "${modes[$i]}" $((PORT + i)) "$WORK/$i" >"$WORK/$i/ready.out" 2>"$WORK/$i/server.err" &
    pids[i]=$!
  done
  SERVER="${pids[0]} ${pids[1]}"
  for i in 0 1; do
    for _ in $(seq 600); do grep -q ready "$WORK/$i/ready.out" 2>/dev/null && break; sleep 0.1; done
    if ! kill -0 "${pids[$i]}" 2>/dev/null; then echo "server ${modes[$i]} died:" >&2; cat "$WORK/$i/server.err" >&2; exit 1; fi
  done
  # wrk_args I WRK_ARGS...: the arguments of wrk against server I of the pair (in WRK), with its
  # own token (each server's development authorization server signs its own); drive I
  # WRK_ARGS...: runs it.
  wrk_args() {
    local i=$1
    shift
    WRK=("$@")
    case $kind in
      valid | forged) WRK+=(-H "Authorization: Bearer $(cat "$WORK/$i/$kind")") ;;
    esac
    WRK+=("${script[@]}" "http://127.0.0.1:$((PORT + i))$path")
  }
  drive() {
    wrk_args "$@"
    "${ON_CLIENT[@]}" wrk "${WRK[@]}"
  }
  for i in 0 1; do drive "$i" -t1 -c4 -d1s >/dev/null; done
  # Both wrk start stopped (the shell stops itself before it becomes wrk), with a duration they
  # never reach: an interrupt ends each, and it prints what it counted.
  local clients=() ticks=() stat=() steps step order turn
  for i in 0 1; do
    wrk_args "$i" -t"$THREADS" -c"$CONNECTIONS" -d$((4 * DURATION + 60))s
    (kill -STOP "$BASHPID" && exec "${ON_CLIENT[@]}" wrk "${WRK[@]}") >"$WORK/$i/wrk.turns" &
    clients[i]=$!
    CLIENTS="${clients[*]}"
    until proc_stat "${clients[$i]}" && [ "${stat[2]}" = T ]; do :; done
  done
  # Each wrk starts, runs its script's `init` (the garbage flood builds its requests there, for
  # about a second, outside wrk's own time as it would be) and is stopped again as soon as its
  # threads exist: its turns measure requests only (with THREADS > 1, its first threads already
  # send while the last one runs `init`; at the default of 1, none).
  for i in 0 1; do
    kill -CONT "${clients[$i]}"
    stat=()
    while [ "${stat[19]:-0}" -le "$THREADS" ]; do
      if ! proc_stat "${clients[$i]}"; then
        echo "wrk against ${modes[$i]} ended before its turns" >&2
        exit 1
      fi
    done
    kill -STOP "${clients[$i]}"
  done
  printf -v turn '%d.%03d' $((SLICE_MS / 1000)) $((SLICE_MS % 1000))
  # A turn waits on a pipe nobody writes to (`read -t`, a builtin): a `sleep` process per turn
  # would wait for the core its wrk keeps busy, and make the turns longer than asked.
  local pause
  exec {pause}<> <(:)
  steps=$((DURATION * 1000 / SLICE_MS))
  for i in 0 1; do ticks[i]=$(cpu_ticks "${pids[$i]}"); done
  local -a ran=(0 0)  # microseconds
  for step in $(seq "$steps"); do
    # A B, then B A: a drift within a step weighs on both alike.
    if [ $((step % 2)) = 1 ]; then order="0 1"; else order="1 0"; fi
    for i in $order; do
      local t0=${EPOCHREALTIME/./}
      kill -CONT "${clients[$i]}"
      read -r -t "$turn" -u "$pause" _ || true
      kill -STOP "${clients[$i]}"
      ran[i]=$((ran[i] + ${EPOCHREALTIME/./} - t0))
    done
  done
  # An interrupt ends wrk, whichever of its threads takes it, but its threads stop only at their
  # next rate tick (within 100 ms) and send until then: each wrk ends alone, the other one still
  # stopped, and its end is timed as one more turn, until its threads are gone (let both run on
  # at once, untimed, and the one whose tick came later gained up to 2 %). Only wrk's main thread
  # prints, from a sleep as long as the duration that only an interrupt cuts short: if another
  # thread took it, the main one gets another once it is alone.
  for i in 0 1; do
    local t0=${EPOCHREALTIME/./}
    kill -INT "${clients[$i]}"
    kill -CONT "${clients[$i]}"
    while proc_stat "${clients[$i]}" && [ "${stat[19]}" -gt 1 ]; do
      read -r -t 0.002 -u "$pause" _ || true
    done
    ran[i]=$((ran[i] + ${EPOCHREALTIME/./} - t0))
    if proc_stat "${clients[$i]}"; then kill -INT "${clients[$i]}" 2>/dev/null || true; fi
  done
  for i in 0 1; do ticks[i]=$(($(cpu_ticks "${pids[$i]}") - ticks[i])); done
  exec {pause}<&-
  wait "${clients[0]}" "${clients[1]}" 2>/dev/null || true
  CLIENTS=
  # The latencies: two plain runs of each, A B B A.
  for i in 0 1 1 0; do drive "$i" -t"$THREADS" -c"$CONNECTIONS" -d1s --latency >>"$WORK/$i/wrk.latency"; done
  kill "${pids[0]}" "${pids[1]}"; wait "${pids[0]}" "${pids[1]}" 2>/dev/null || true; SERVER=
  for i in 0 1; do
    local name=${names[$i]}
    sed 's/\x1b\[[0-9;]*m//g' "$WORK/$i/server.err" | head -n 3 | sed "s/^/  $name (round $round): /" >>"$WORK/logged"
    # Requests over the seconds the server's wrk ran; latencies in microseconds.
    if ! grep -q 'requests in' "$WORK/$i/wrk.turns"; then
      echo "wrk against $name printed no count:" >&2
      cat "$WORK/$i/wrk.turns" >&2
      exit 1
    fi
    cat "$WORK/$i/wrk.turns" "$WORK/$i/wrk.latency" | awk -v round="$round" -v name="$name" -v t="${ticks[$i]}" -v hz="$TICKS" \
      -v ran_us="${ran[$i]}" -v lines="$(wc -l <"$WORK/$i/server.err")" '
      function us(v,    u) { u = v; sub(/[0-9.]+/, "", u); v += 0; if (u == "ms") v *= 1000; else if (u == "s") v *= 1000000; return v }
      # The first "requests in" line is the turns run, the others the latency runs.
      /requests in/ { if (!seen++) n = $1 }
      $1 == "50%" { p50[++k50] = us($2) }
      $1 == "99%" { p99[++k99] = us($2) }
      /Non-2xx or 3xx responses/ { if (seen == 1) bad = $NF }
      END { printf "%s %s %.2f %.0f %.0f %.1f %d %d %d\n", round, name, n * 1e6 / ran_us, (p50[1] + p50[2]) / 2, (p99[1] + p99[2]) / 2, t / hz * 1e6 / n, n, lines, bad }
    ' >>"$WORK/rounds"
    rm -f "$WORK/$i"/wrk.*
  done
}

for round in $(seq "$ROUNDS"); do
  echo "round $round of $ROUNDS" >&2
  # Each ratio's two servers in turn, in one stretch of time (see `pair`).
  pair bare bare ours-cache ours /notes valid
  pair hand hand ours-nocache ours-nocache /notes valid
  ALG=ES256 pair hand-ES256 hand ours-nocache-ES256 ours-nocache /notes valid
  ALG=EdDSA pair hand-EdDSA hand ours-nocache-EdDSA ours-nocache /notes valid
  pair ours-forged ours bare-forged bare /notes forged
  pair ours-garbage ours bare-garbage bare /notes garbage garbage.lua
  pair mcp-hand mcp-hand mcp-ours mcp-ours /mcp valid mcp.lua
done

# SHOW_ROUNDS=1: every round's figures, before the medians (round, server, req/s, p50, p99,
# cpu us/req, requests, log lines, non-2xx).
[ "${SHOW_ROUNDS:-0}" = 1 ] && cat "$WORK/rounds"

# Per server: the median of each figure over the rounds; requests, log lines and non-2xx
# answers summed.
awk '
  function median(list,    n, v, i, j, t) {
    n = split(list, v, " ")
    for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] + 0 > v[j] + 0; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
    return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
  }
  !($2 in seen) { seen[$2] = 1; order[++count] = $2 }
  { rps[$2] = rps[$2] " " $3; p50[$2] = p50[$2] " " $4; p99[$2] = p99[$2] " " $5; cpu[$2] = cpu[$2] " " $6
    n[$2] += $7; lines[$2] += $8; bad[$2] += $9 }
  END { for (i = 1; i <= count; i++) { s = order[i]
    printf "%s %s %s %s %s %d %d %d\n", s, median(rps[s]), median(p50[s]), median(p99[s]), median(cpu[s]), n[s], lines[s], bad[s] } }
' "$WORK/rounds" >"$WORK/results"

echo "wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s, $CORES cores ($PINNING), median of $ROUNDS rounds; cpu = server utime+stime per request; requests, non-2xx and log lines summed over the rounds"
awk '
  NR == FNR { if ($1 == "bare") { base = $2; basecpu = $5 } ; next }
  FNR == 1 { printf "%-22s %10s %8s %9s %9s %12s %8s %10s %9s %10s\n", "server", "req/s", "x bare", "p50 us", "p99 us", "cpu us/req", "x bare", "requests", "non-2xx", "log lines" }
  { printf "%-22s %10.0f %8.2f %9s %9s %12.1f %8.2f %10s %9s %10s\n", $1, $2, $2 / base, $3, $4, $5, $5 / basecpu, $6, $8, $7 }
' "$WORK/results" "$WORK/results"
# The targets of the performance work: the ratios of the medians, and the same ratio per round.
awk '
  FNR == NR { r = $1; rrps[r, $2] = $3; rcpu[r, $2] = $6; if (r > rounds) rounds = r; next }
  { rps[$1] = $2; cpu[$1] = $5; n[$1] = $6; lines[$1] = $7; bad[$1] = $8 }
  function line(label, a, b, kind, target,    r, each) {
    if ((kind == "cpu" ? cpu[b] : rps[b]) == 0 || !(a in rps)) return
    each = ""
    for (r = 1; r <= rounds; r++) each = each ((kind == "cpu" ? rcpu[r, b] : rrps[r, b]) == 0 ? " -" : sprintf(" %.2f", kind == "cpu" ? rcpu[r, a] / rcpu[r, b] : rrps[r, a] / rrps[r, b]))
    printf "%-60s %8.2f %8s   %s\n", label, kind == "cpu" ? cpu[a] / cpu[b] : rps[a] / rps[b], target, each
  }
  END {
    printf "\n%-60s %8s %8s   %s\n", "ratio (of the medians)", "value", "target", "per round"
    line("cache on, valid token: req/s x bare", "ours-cache", "bare", "rps", ">= 0.85")
    line("cache off, RS256: cpu/req / hand-written", "ours-nocache", "hand", "cpu", "<= 1.05")
    line("cache off, ES256: cpu/req / hand-written", "ours-nocache-ES256", "hand-ES256", "cpu", "<= 1.05")
    line("cache off, EdDSA: cpu/req / hand-written", "ours-nocache-EdDSA", "hand-EdDSA", "cpu", "<= 1.05")
    # The targets of the floods are read against bare axum driven by the same flood in the same
    # turns; against the bare axum of the first pair (a minute apart), for reference.
    line("flood of one forged token: req/s x bare with the same flood", "ours-forged", "bare-forged", "rps", ">= 0.8")
    line("flood of one forged token: req/s x bare (first pair)", "ours-forged", "bare", "rps", "")
    line("flood of random garbage: req/s x bare with the same flood", "ours-garbage", "bare-garbage", "rps", ">= 0.8")
    line("flood of random garbage: req/s x bare (first pair)", "ours-garbage", "bare", "rps", "")
    line("MCP tools/call (rmcp): req/s x hand-written cached check", "mcp-ours", "mcp-hand", "rps", ">= 0.9")
    if (n["ours-forged"] > 0) printf "%-60s %8.2f\n", "log lines per 10,000 refusals (forged flood)", lines["ours-forged"] * 10000 / n["ours-forged"]
    if (n["ours-garbage"] > 0) printf "%-60s %8.2f\n", "log lines per 10,000 refusals (garbage flood)", lines["ours-garbage"] * 10000 / n["ours-garbage"]
    # Every valid-token run must have been answered 2xx (and bare axum, which checks no token,
    # under the floods), every flood refused by ours.
    split("bare hand ours-cache ours-nocache hand-ES256 ours-nocache-ES256 hand-EdDSA ours-nocache-EdDSA mcp-hand mcp-ours bare-forged bare-garbage", ok, " ")
    for (i in ok) if (bad[ok[i]] > 0) { printf "ERROR: %s answered %d requests with non-2xx\n", ok[i], bad[ok[i]]; failed = 1 }
    split("ours-forged ours-garbage", refused, " ")
    for (i in refused) if (bad[refused[i]] < n[refused[i]]) { printf "ERROR: %s passed %d requests\n", refused[i], n[refused[i]] - bad[refused[i]]; failed = 1 }
    exit failed
  }
' "$WORK/rounds" "$WORK/results" || status=$?
if [ -s "$WORK/logged" ]; then
  echo
  echo "log lines written (the first 3 per server and round):"
  cut -c1-240 "$WORK/logged"
fi
exit "${status:-0}"
