#!/usr/bin/env bash
# Conformance against Prism, the mock server of Reducto's SDK generator
# (Stainless), serving Reducto's full published spec: installs the pinned
# Prism (conformance/package-lock.json), starts it on a free local port,
# runs tests/conformance.rs against it, and always stops it afterwards.
#
# Needs node >= 18.20 with npm, and cargo. Runs from a clean checkout.
set -euo pipefail
cd "$(dirname "$0")/.."

SPEC=reducto-codegen/fixtures/reducto-openapi-v1.12.20.json
START_TIMEOUT=${PRISM_START_TIMEOUT:-60}
started=$(date +%s)

for tool in node npm cargo; do
  command -v "$tool" >/dev/null || { echo "conformance: $tool is required" >&2; exit 1; }
done

echo "conformance: installing Prism (npm ci)"
npm ci --prefix conformance --no-audit --no-fund --loglevel=error >/dev/null
PRISM=conformance/node_modules/.bin/prism
"$PRISM" --version >/dev/null

workdir=$(mktemp -d "${TMPDIR:-/tmp}/reducto-prism.XXXXXX")
log="$workdir/prism.log"
prism_pid=""

stop_prism() {
  if [[ -n "$prism_pid" ]] && kill -0 "$prism_pid" 2>/dev/null; then
    kill "$prism_pid" 2>/dev/null || true
    # Give it a moment to exit cleanly, then insist.
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      kill -0 "$prism_pid" 2>/dev/null || break
      sleep 0.2
    done
    kill -9 "$prism_pid" 2>/dev/null || true
    wait "$prism_pid" 2>/dev/null || true
  fi
  rm -rf "$workdir"
}
trap stop_prism EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A free port on 127.0.0.1 (the kernel picks it; freed just before Prism binds).
port=$(node -e '
  const s = require("net").createServer();
  s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });
')
url="http://127.0.0.1:$port"

echo "conformance: starting Prism $("$PRISM" --version) on $url"
"$PRISM" mock --host 127.0.0.1 --port "$port" "$SPEC" >"$log" 2>&1 &
prism_pid=$!

# Wait until it answers GET /version (the one operation without auth).
answers() {
  node -e '
    fetch(process.argv[1] + "/version", { signal: AbortSignal.timeout(2000) })
      .then(r => process.exit(r.ok ? 0 : 1), () => process.exit(1));
  ' "$url"
}
deadline=$((SECONDS + START_TIMEOUT))
until answers; do
  if ! kill -0 "$prism_pid" 2>/dev/null; then
    echo "conformance: Prism exited before answering; its log:" >&2
    cat "$log" >&2
    exit 1
  fi
  if ((SECONDS >= deadline)); then
    echo "conformance: Prism did not answer on $url within ${START_TIMEOUT}s; its log:" >&2
    cat "$log" >&2
    exit 1
  fi
  sleep 0.5
done
echo "conformance: Prism is up after $(($(date +%s) - started))s"

status=0
REDUCTO_PRISM_URL="$url" cargo test --locked --test conformance -- --ignored --test-threads=2 \
  || status=$?
if ((status != 0)); then
  echo "conformance: FAILED; Prism's log (last 100 lines):" >&2
  tail -n 100 "$log" >&2
fi
echo "conformance: done in $(($(date +%s) - started))s"
exit "$status"
