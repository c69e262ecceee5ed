#!/usr/bin/env bash
# Reducto's own Python SDK (pinned in conformance/python/requirements.txt)
# against the local server's standalone binary: installs the SDK into a
# throwaway venv, starts `reducto-mock` on a random port, runs
# conformance/python/official_sdk.py against it, and always stops it.
#
# Needs python3 (with venv and pip) and cargo. Runs from a clean checkout.
set -euo pipefail
cd "$(dirname "$0")/.."

KEY=python-sdk-check
START_TIMEOUT=${MOCK_START_TIMEOUT:-60}

command -v python3 >/dev/null || { echo "python-sdk: python3 is required" >&2; exit 1; }

workdir=$(mktemp -d "${TMPDIR:-/tmp}/reducto-python-sdk.XXXXXX")
mock_pid=""
cleanup() {
  if [[ -n "$mock_pid" ]]; then
    kill "$mock_pid" 2>/dev/null || true
    wait "$mock_pid" 2>/dev/null || true
  fi
  rm -rf "$workdir"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "python-sdk: installing the official SDK"
python3 -m venv "$workdir/venv"
"$workdir/venv/bin/pip" install --quiet --disable-pip-version-check \
  -r conformance/python/requirements.txt

cargo build --locked --quiet -p reducto-mock
target_dir=$(cargo metadata --format-version 1 --no-deps \
  | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')

# Port 0: the mock binds a free port and prints its URL.
"$target_dir/debug/reducto-mock" --port 0 --api-key "$KEY" --job-duration-ms 1500 \
  --pipeline packets=conformance/python/pipeline.json \
  >"$workdir/mock.log" 2>&1 &
mock_pid=$!
deadline=$((SECONDS + START_TIMEOUT))
url=""
until [[ -n "$url" ]]; do
  url=$(sed -n 's/^reducto-mock listening on //p' "$workdir/mock.log")
  if ! kill -0 "$mock_pid" 2>/dev/null || ((SECONDS >= deadline)); then
    echo "python-sdk: the mock did not start; its log:" >&2
    cat "$workdir/mock.log" >&2
    exit 1
  fi
  [[ -n "$url" ]] || sleep 0.2
done

REDUCTO_BASE_URL="$url" REDUCTO_API_KEY="$KEY" \
  "$workdir/venv/bin/python" conformance/python/official_sdk.py
