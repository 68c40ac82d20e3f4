#!/usr/bin/env bash
# Runs every test twice: the default pure-Rust build and the C-accelerated build that
# packaging uses (both must pass the same tests). That build compiles a vendored
# libjpeg-turbo with cmake and nasm; they are installed here when missing. Then the
# AWS Lambda host's tests (--features lambda), against moto's SQS server (PyPI).
set -euo pipefail
cd "$(dirname "$0")/.."

# cmake + nasm: the fast-codecs build; chromium: the report is checked in a real browser;
# nodejs + npm: the storage tests install and run Azurite (npm azurite@3.35.0) themselves.
missing=""
command -v cmake >/dev/null 2>&1 || missing="$missing cmake"
command -v nasm >/dev/null 2>&1 || missing="$missing nasm"
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"
if [ -n "$missing" ]; then
  echo "== installing$missing (Debian packages)"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi

# moto's SQS server: the Lambda host's SQS tests run against it on loopback.
if ! python3 -c "import moto.server, flask, flask_cors" >/dev/null 2>&1; then
  echo "== installing moto[server] (PyPI)"
  python3 -m pip install --quiet 'moto[server]'
fi

echo "== tests, pure-Rust build (default)"
cargo test --locked
echo "== tests, C-accelerated build (--features fast-codecs)"
cargo test --locked --features fast-codecs
echo "== tests, AWS Lambda host and SQS sink (--features lambda)"
cargo test --locked --features lambda --test lambda
