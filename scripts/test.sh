#!/usr/bin/env bash
# Runs every test twice: the default pure-Rust build and the C-accelerated build that
# packaging uses (both must pass the same tests). That build compiles a vendored
# libjpeg-turbo with cmake and nasm; they are installed here when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need_tools() {
  command -v cmake >/dev/null 2>&1 && command -v nasm >/dev/null 2>&1
}
if ! need_tools; then
  echo "== installing cmake and nasm (needed by the fast-codecs feature)"
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq cmake nasm >/dev/null
fi

echo "== tests, pure-Rust build (default)"
cargo test --locked
echo "== tests, C-accelerated build (--features fast-codecs)"
cargo test --locked --features fast-codecs
