#!/usr/bin/env bash
# The README's rmcp server, as a new user takes it: its `Cargo.toml` [dependencies] and its
# `src/main.rs`, copied from README.md into a fresh crate (mcp-auth and mcp-auth-dev from this
# checkout through [patch.crates-io], since 0.1 is not on crates.io yet), with the test of
# "Test your server" at the end of `src/main.rs` and its [dev-dependencies], as the README says.
# Then:
#   1. `cargo test` in that crate runs the README's test (200, 403, 401 against mcp-auth-dev);
#   2. the server is started against the notes example's development authorization server, and
#      one `tools/call`, without `initialize`, must answer 200 (and without a token 401).
#
#   bash tests/readme-server.sh          # about 3 minutes on two cores (a build of its own)
#
# It runs the notes example on its ports 3000 to 3003 and the README server on 3100.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
pids=()
cleanup() {
    local status=$?
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    if [ "$status" != 0 ]; then
        for log in "$work"/*.log; do
            [ -s "$log" ] && { echo "--- $(basename "$log")" >&2; cat "$log" >&2; }
        done
    fi
    rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "readme-server: $*" >&2; exit 1; }

# The fenced block after the line that ends with `marker` in the README's rmcp section, without
# rustdoc's hidden lines (`# ...`).
block() {
    awk -v marker="$1" '
        /^## Protect an rmcp server/ { section = 1 }
        section && substr($0, length($0) - length(marker) + 1) == marker { armed = 1; next }
        armed && /^```/ { if (inside) exit; inside = 1; next }
        inside && !/^# / && !/^#$/ { print }
    ' "$root/README.md"
}

# The `name = value` dependencies the README names in the paragraph of "Test your server".
test_dev_dependencies() {
    awk '/^### Test your server/ { on = 1; next } on && /^```/ { exit } on { print }' "$root/README.md" |
        tr '\n' ' ' | grep -o '`[a-z_-]* = [^`]*`' | tr -d '`'
}

# Waits up to 30 s for `url` to answer 2xx while process `pid` lives.
wait_for() {
    local url=$1 pid=$2
    for _ in $(seq 300); do
        kill -0 "$pid" 2>/dev/null || fail "the process serving $url exited"
        curl -sf -o /dev/null "$url" && return 0
        sleep 0.1
    done
    fail "nothing answered $url within 30 s"
}

for port in 3000 3001 3002 3003 3100; do
    ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || fail "port $port is taken: stop what runs there"
done

mkdir -p "$work/readme-server/src"
cd "$work/readme-server"
{
    printf '[package]\nname = "readme-server"\nversion = "0.1.0"\nedition = "2024"\n\n'
    block '`Cargo.toml`:'
    printf '\n[dev-dependencies]\n'
    test_dev_dependencies
    printf '\n[patch.crates-io]\nmcp-auth = { path = "%s/mcp-auth" }\n' "$root"
    printf 'mcp-auth-dev = { path = "%s/mcp-auth/dev" }\n' "$root"
} > Cargo.toml
block '`src/main.rs`:' > src/main.rs
[ -s src/main.rs ] && grep -q '^\[dependencies\]' Cargo.toml && grep -q '^mcp-auth-dev = ' Cargo.toml ||
    fail "the README's Cargo.toml, src/main.rs or dev-dependencies were not found"
printf '\n' >> src/main.rs
block '`cargo test` runs it.' >> src/main.rs
grep -q '^#\[tokio::test\]' src/main.rs || fail "the README's test was not found"
# The versions the workspace is tested with.
cp "$root/Cargo.lock" .

echo "1. cargo test in the README's crate ($work/readme-server)"
cargo test --quiet 2>&1 | tee "$work/test.log" | grep -E '^test |test result' || true
grep -q 'test result: ok. 1 passed' "$work/test.log" || fail "the README's test did not pass"

echo "2. the README's server against the notes example's development authorization server"
cargo build --quiet
(cd "$root" && cargo build --quiet --example notes)
RUST_LOG=warn "$root/target/debug/examples/notes" > "$work/notes.log" 2>&1 &
pids+=($!)
wait_for http://127.0.0.1:3002/.well-known/oauth-authorization-server "${pids[-1]}"

NOTES_ISSUER=http://127.0.0.1:3002 NOTES_RESOURCE_ID=http://127.0.0.1:3100/mcp RUST_LOG=warn \
    ./target/debug/readme-server > "$work/server.log" 2>&1 &
pids+=($!)
wait_for http://127.0.0.1:3100/.well-known/oauth-protected-resource/mcp "${pids[-1]}"

# A token for the README server, from the development server (the notes example's own client).
token=$(curl -sf -u notes-mcp:notes-mcp-dev-secret http://127.0.0.1:3002/token \
    -d grant_type=client_credentials -d resource=http://127.0.0.1:3100/mcp \
    -d 'scope=read:notes write:notes' | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p' || true)
[ -n "$token" ] || fail "no token from the development server"

call() {
    curl -s -o "$work/body" -w '%{http_code}' http://127.0.0.1:3100/mcp "$@" \
        -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
        -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"create_note","arguments":{"text":"hi"}}}' || true
}
with=$(call -H "Authorization: Bearer $token")
echo "tools/call create_note with a token: $with $(cat "$work/body" 2>/dev/null)"
without=$(call)
echo "tools/call create_note without a token: $without"
[ "$with" = 200 ] && [ "$without" = 401 ] || fail "expected 200 and 401"
echo "ok: the README's test passes in a fresh crate, and its server answers a one-request tools/call with 200"
