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
# The two servers of a pair are up at once and driven in turn (see `pair`): one second of each,
# A B B A ..., DURATION seconds each (SLICE=n: n-second slices). Run one after the other, 5
# seconds each, the ratio of bare axum and ours with the cache on moved between 0.65 and 1.16
# from round to round on the 2-core development machine, bare axum ahead of itself by as much as
# ours was behind it; taken in turn, between 0.82 and 0.95.
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
PORT=${PORT:-3290}
CORES=$(nproc)
if [ "${PIN:-1}" = 1 ] && [ "$CORES" -ge 2 ] && command -v taskset >/dev/null; then
  SERVER_CPUS=$((CORES - 1))
  CLIENT_CPUS="0-$((CORES - 2))"
  ON_SERVER=(taskset -c "$SERVER_CPUS")
  ON_CLIENT=(taskset -c "$CLIENT_CPUS")
  PINNING="server on CPU $SERVER_CPUS, wrk on CPU $CLIENT_CPUS"
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
# SERVER: the pid of the server under load, or the two of a pair (split on purpose).
trap 'rm -rf "$WORK"; [ -n "${SERVER:-}" ] && kill $SERVER 2>/dev/null || true' EXIT
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

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# [ALG=..] [SLICE=..] pair NAME_A MODE_A NAME_B MODE_B PATH TOKEN_KIND [LUA]: the two servers of a ratio up at
# once, both on the server core, driven in turn for SLICE seconds at a time (A B B A A B ...)
# until each had DURATION seconds; each one's figures are summed over its slices (req/s: all its
# requests over all its seconds; p50, p99: the median of its slices'). The VM's neighbours move
# throughput by 10 % or more from one few seconds to the next, often only during one of two
# 5-second runs back to back (bare axum then ahead of itself by as much as ours is behind it):
# taken in turn, both servers see the same machine, and the ratio measures the servers.
pair() {
  local a=$1 mode_a=$2 b=$3 mode_b=$4 path=$5 kind=$6 lua=${7:-}
  local script=()
  [ -n "$lua" ] && script=(-s "$WORK/$lua")
  if [ -n "${ONLY:-}" ] && [[ " $ONLY " != *" $a "* ]] && [[ " $ONLY " != *" $b "* ]]; then return; fi
  local names=("$a" "$b") modes=("$mode_a" "$mode_b") pids=() i
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
  # drive I WRK_ARGS...: wrk against server I of the pair, with its own token (each server's
  # development authorization server signs its own).
  drive() {
    local i=$1 auth=()
    shift
    case $kind in
      valid | forged) auth=(-H "Authorization: Bearer $(cat "$WORK/$i/$kind")") ;;
    esac
    "${ON_CLIENT[@]}" wrk "$@" "${auth[@]}" "${script[@]}" "http://127.0.0.1:$((PORT + i))$path"
  }
  for i in 0 1; do drive "$i" -t1 -c4 -d1s >/dev/null; done
  local slice=${SLICE:-1} slices step order ticks=(0 0)
  slices=$(( (DURATION + slice - 1) / slice ))
  for step in $(seq "$slices"); do
    # A B, then B A: a drift within a step weighs on both alike.
    if [ $((step % 2)) = 1 ]; then order="0 1"; else order="1 0"; fi
    for i in $order; do
      local before after
      before=$(cpu_ticks "${pids[$i]}")
      drive "$i" -t"$THREADS" -c"$CONNECTIONS" -d"${slice}s" --latency >"$WORK/$i/wrk.$step"
      after=$(cpu_ticks "${pids[$i]}")
      ticks[i]=$((ticks[i] + after - before))
    done
  done
  kill "${pids[0]}" "${pids[1]}"; wait "${pids[0]}" "${pids[1]}" 2>/dev/null || true; SERVER=
  for i in 0 1; do
    local name=${names[$i]}
    sed 's/\x1b\[[0-9;]*m//g' "$WORK/$i/server.err" | head -n 3 | sed "s/^/  $name (round $round): /" >>"$WORK/logged"
    # Requests and seconds summed over the slices; latencies in microseconds, the median slice's.
    cat "$WORK/$i"/wrk.* | awk -v round="$round" -v name="$name" -v t="${ticks[$i]}" -v hz="$TICKS" \
      -v lines="$(wc -l <"$WORK/$i/server.err")" '
      function us(v,    u) { u = v; sub(/[0-9.]+/, "", u); v += 0; if (u == "ms") v *= 1000; else if (u == "s") v *= 1000000; return v }
      function median(list, k,    v, a, b, c) {
        k = split(list, v, " ")
        for (a = 2; a <= k; a++) for (b = a; b > 1 && v[b - 1] + 0 > v[b] + 0; b--) { c = v[b]; v[b] = v[b - 1]; v[b - 1] = c }
        return k % 2 ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2
      }
      # wrk prints the duration as 1.00s, 1.00m or 1.00h.
      /requests in/ { n += $1; s = $4; sub(/,$/, "", s); f = s ~ /m$/ ? 60 : s ~ /h$/ ? 3600 : 1; sub(/[smh]$/, "", s); secs += s * f }
      $1 == "50%" { p50 = p50 " " us($2) }
      $1 == "99%" { p99 = p99 " " us($2) }
      /Non-2xx or 3xx responses/ { bad += $NF }
      END { printf "%s %s %.2f %.0f %.0f %.1f %d %d %d\n", round, name, n / secs, median(p50), median(p99), t / hz * 1e6 / n, n, lines, bad }
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
  pair hand-nocache-rejects hand ours-forged ours /notes forged
  # The garbage script builds its 100,000 requests before each wrk run (a fifth of a second,
  # counted in wrk's time): one slice per server, so that it weighs as it did before.
  SLICE=$DURATION pair ours-garbage ours bare-garbage bare /notes garbage garbage.lua
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
    printf "%-58s %8.2f %8s   %s\n", label, kind == "cpu" ? cpu[a] / cpu[b] : rps[a] / rps[b], target, each
  }
  END {
    printf "\n%-58s %8s %8s   %s\n", "ratio (of the medians)", "value", "target", "per round"
    line("cache on, valid token: req/s x bare", "ours-cache", "bare", "rps", ">= 0.85")
    line("cache off, RS256: cpu/req / hand-written", "ours-nocache", "hand", "cpu", "<= 1.05")
    line("cache off, ES256: cpu/req / hand-written", "ours-nocache-ES256", "hand-ES256", "cpu", "<= 1.05")
    line("cache off, EdDSA: cpu/req / hand-written", "ours-nocache-EdDSA", "hand-EdDSA", "cpu", "<= 1.05")
    line("flood of one forged token: req/s x bare", "ours-forged", "bare", "rps", ">= 0.8")
    line("flood of random garbage: req/s x bare", "ours-garbage", "bare", "rps", ">= 0.8")
    line("flood of random garbage: req/s x bare with the same flood", "ours-garbage", "bare-garbage", "rps", "")
    line("MCP tools/call (rmcp): req/s x hand-written cached check", "mcp-ours", "mcp-hand", "rps", ">= 0.9")
    if (n["ours-forged"] > 0) printf "%-58s %8.2f\n", "log lines per 10,000 refusals (forged flood)", lines["ours-forged"] * 10000 / n["ours-forged"]
    if (n["ours-garbage"] > 0) printf "%-58s %8.2f\n", "log lines per 10,000 refusals (garbage flood)", lines["ours-garbage"] * 10000 / n["ours-garbage"]
    # Every valid-token run must have been answered 2xx, every flood refused.
    split("bare hand ours-cache ours-nocache hand-ES256 ours-nocache-ES256 hand-EdDSA ours-nocache-EdDSA mcp-hand mcp-ours", ok, " ")
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
