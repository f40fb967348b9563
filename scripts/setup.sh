#!/usr/bin/env bash
# Installs, idempotently, what building and running Garrison needs; with --test also what the
# test suite needs. Safe to run again: each step checks before it installs.
set -euo pipefail
cd "$(dirname "$0")/.."
want_test=false
[ "${1:-}" = "--test" ] && want_test=true

export DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1
apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "setup: installing ${missing[*]}"
  local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get -o DPkg::Lock::Timeout=600 update -q
  $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -q "${missing[@]}"
}

apt_install pkg-config gcc
# Node.js builds the browser bundle's last steps (wasm-opt, compression); the machine may have
# it from elsewhere than Debian, so ask for the commands, not the packages.
command -v node >/dev/null || apt_install nodejs
command -v npm >/dev/null || apt_install npm
if $want_test; then
  apt_install postgresql redis-server chromium chromium-driver curl docker-registry
fi

# The toolchain is pinned in rust-toolchain.toml; make sure both wasm targets are there.
rustup show active-toolchain >/dev/null
rustup target add wasm32-unknown-unknown wasm32-wasip2 >/dev/null

# wasm-bindgen-cli must match the wasm-bindgen in Cargo.lock exactly.
wbg_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$wbg_version" ]; then
  echo "setup: installing wasm-bindgen-cli $wbg_version (a few minutes, once)"
  cargo install wasm-bindgen-cli --version "$wbg_version"
fi
# wasm-opt for the browser bundle, from npm's binaryen (Debian's breaks hydration), kept in
# target/tools so nothing outside the checkout changes.
binaryen_version=132
if [ "$(target/tools/node_modules/.bin/wasm-opt --version 2>/dev/null | awk '{print $3}')" != "$binaryen_version" ]; then
  echo "setup: installing binaryen $binaryen_version (wasm-opt) from npm"
  mkdir -p target/tools
  npm install --prefix target/tools --no-audit --no-fund --loglevel=error "binaryen@$binaryen_version" >/dev/null
fi
echo "setup: ready"
