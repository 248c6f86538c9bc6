#!/usr/bin/env bash
# The README's rmcp server, as a new user takes it: its `Cargo.toml` [dependencies] and its
# `src/main.rs`, copied from README.md into a fresh crate (mcp-auth from this checkout through
# [patch.crates-io], since 0.1 is not on crates.io yet), built, and started against the notes
# example's development authorization server; then one `tools/call`, without `initialize`,
# must answer 200 (and the same call without a token 401).
#
#   bash tests/readme-server.sh          # about 3 minutes on two cores (a build of its own)
#
# It runs the notes example on its ports 3000 to 3003 and the README server on 3100.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# The fenced block after the line that ends with `marker` in the README's rmcp section.
block() {
    awk -v marker="$1" '
        /^## Protect an rmcp server/ { section = 1 }
        section && substr($0, length($0) - length(marker) + 1) == marker { armed = 1; next }
        armed && /^```/ { if (inside) exit; inside = 1; next }
        inside { print }
    ' "$root/README.md"
}

mkdir -p "$work/readme-server/src"
cd "$work/readme-server"
{
    printf '[package]\nname = "readme-server"\nversion = "0.1.0"\nedition = "2024"\n\n'
    block '`Cargo.toml`:'
    printf '\n[patch.crates-io]\nmcp-auth = { path = "%s/mcp-auth" }\n' "$root"
} > Cargo.toml
block '`src/main.rs`:' > src/main.rs
[ -s src/main.rs ] && grep -q '^\[dependencies\]' Cargo.toml || {
    echo "the README's Cargo.toml or src/main.rs block was not found" >&2
    exit 1
}
# The versions the workspace is tested with.
cp "$root/Cargo.lock" .
echo "building the README's server in $work/readme-server"
cargo build --quiet

echo "starting the notes example (its development authorization server is the issuer)"
(cd "$root" && cargo build --quiet --example notes)
RUST_LOG=warn "$root/target/debug/examples/notes" > "$work/notes.log" 2>&1 &
pids+=($!)
for _ in $(seq 300); do
    curl -sf -o /dev/null http://127.0.0.1:3002/.well-known/oauth-authorization-server && break
    sleep 0.1
done

NOTES_ISSUER=http://127.0.0.1:3002 NOTES_RESOURCE_ID=http://127.0.0.1:3100/mcp RUST_LOG=warn \
    ./target/debug/readme-server > "$work/server.log" 2>&1 &
pids+=($!)
for _ in $(seq 300); do
    curl -sf -o /dev/null http://127.0.0.1:3100/.well-known/oauth-protected-resource/mcp && break
    sleep 0.1
done

# A token for the README server, from the development server (the notes example's own client).
token=$(curl -sf -u notes-mcp:notes-mcp-dev-secret http://127.0.0.1:3002/token \
    -d grant_type=client_credentials -d resource=http://127.0.0.1:3100/mcp \
    -d 'scope=read:notes write:notes' | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')
[ -n "$token" ] || { echo "no token from the development server" >&2; exit 1; }

call() {
    curl -s -o "$work/body" -w '%{http_code}' http://127.0.0.1:3100/mcp "$@" \
        -H 'Content-Type: application/json' -H 'Accept: application/json, text/event-stream' \
        -d '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"create_note","arguments":{"text":"hi"}}}'
}
with=$(call -H "Authorization: Bearer $token")
echo "tools/call create_note with a token: $with $(cat "$work/body")"
without=$(call)
echo "tools/call create_note without a token: $without"
[ "$with" = 200 ] && [ "$without" = 401 ] || { cat "$work/server.log" >&2; exit 1; }
echo "ok: the README's server answers a one-request tools/call with 200"
