#!/usr/bin/env bash
# The SDK's size as an app ships it: one JSON line per Rust target on standard output (progress
# on standard error), for bench/run.sh's results and bench/report.py's "SDK size" table.
#
#   bench/sdk-size.sh                  this repository
#   bench/sdk-size.sh --src DIR        another checkout (e.g. an older commit's worktree)
#
# What is measured, for every target: the SDK built alone, as scripts/install.sh and the README
# build it (`-p imstatus --lib`, release profile, nothing else in the same cargo invocation, so
# no feature of another package is unified into its dependencies), into DIR/target/sdk-size.
# - The host: `cargo build`, then the shared library as built (`so_bytes`), the same after
#   `strip` (all symbols and debug information: `stripped_so_bytes`), and `libimstatus.a`.
# - Every other target ($SDK_SIZE_TARGETS, default below; added with rustup when missing):
#   the static library (`cargo rustc --crate-type staticlib`), which needs no linker, then the
#   shared library (`--crate-type cdylib`) where it links here (a target's linker is an
#   external toolchain: the Android NDK, Apple's Xcode, mingw-w64 for Windows); where it does
#   not, `note` says why and the shared sizes are null.
#
# Every field is in bytes. Builds only: nothing is pinned to a core or timed.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
src=$root
if [ "${1:-}" = --src ]; then
  [ $# -eq 2 ] || { echo "usage: $0 [--src DIR]" >&2; exit 2; }
  src="$(cd "$2" && pwd)"
elif [ $# -ne 0 ]; then
  echo "usage: $0 [--src DIR]" >&2
  exit 2
fi
# Android (the README's three ABIs), iOS, macOS, Windows.
TARGETS=${SDK_SIZE_TARGETS-aarch64-linux-android armv7-linux-androideabi x86_64-linux-android aarch64-apple-ios aarch64-apple-darwin x86_64-pc-windows-gnu}
out="$src/target/sdk-size"
host=$(rustc -vV | sed -n 's/^host: //p')
rustc_version=$(rustc --version)
commit=$(git -C "$src" rev-parse --short HEAD 2>/dev/null || echo unknown)

say() { echo "[sdk-size] $*" >&2; }

size_of() { stat -c %s "$1"; }

# Strips a shared library into $2 (GNU strip, else llvm-strip, for formats the host's binutils
# do not read); fails when neither can.
strip_to() {
  strip -o "$2" "$1" 2>/dev/null || llvm-strip -o "$2" "$1" 2>/dev/null
}

# json TARGET A_BYTES SO_BYTES STRIPPED_SO_BYTES NOTE (empty sizes and note: null)
json() {
  python3 - "$@" "$commit" "$rustc_version" <<'EOF'
import json, sys
target, a, so, stripped, note, commit, rustc = sys.argv[1:]
num = lambda v: int(v) if v else None
print(json.dumps({"workload": "sdk-size", "target": target, "commit": commit, "rustc": rustc,
                  "a_bytes": num(a), "so_bytes": num(so), "stripped_so_bytes": num(stripped),
                  "note": note or None}))
EOF
}

cd "$src"
build() {
  cargo "$@" --release -p imstatus --lib --target-dir "$out" >"$out/cargo.log" 2>&1
}
mkdir -p "$out"

say "$host (host), $commit"
build build || { cat "$out/cargo.log" >&2; exit 1; }
so="$out/release/libimstatus.so"
strip_to "$so" "$out/libimstatus.stripped.so"
json "$host" "$(size_of "$out/release/libimstatus.a")" "$(size_of "$so")" \
  "$(size_of "$out/libimstatus.stripped.so")" ""

for target in $TARGETS; do
  say "$target"
  if ! rustup target list --installed 2>/dev/null | grep -qx "$target" &&
    ! rustup target add "$target" >/dev/null 2>&1; then
    json "$target" "" "" "" "rustup could not add the target here"
    continue
  fi
  if ! build rustc --target "$target" --crate-type staticlib; then
    json "$target" "" "" "" "the static library does not build: $(grep -m1 '^error' "$out/cargo.log")"
    continue
  fi
  a=$(size_of "$out/$target/release/libimstatus.a")
  case "$target" in
    *-windows-*) shared=imstatus.dll toolchain="mingw-w64 (x86_64-w64-mingw32-gcc)" ;;
    *-apple-*) shared=libimstatus.dylib toolchain="Apple's linker (Xcode)" ;;
    *-android*) shared=libimstatus.so toolchain="the Android NDK's linker" ;;
    *) shared=libimstatus.so toolchain="a linker for $target" ;;
  esac
  if ! build rustc --target "$target" --crate-type cdylib; then
    json "$target" "$a" "" "" "the shared library does not link here: it needs $toolchain"
    continue
  fi
  so="$out/$target/release/$shared"
  stripped=
  if strip_to "$so" "$out/$target/stripped-$shared"; then
    stripped=$(size_of "$out/$target/stripped-$shared")
  fi
  json "$target" "$a" "$(size_of "$so")" "$stripped" \
    "$([ -n "$stripped" ] || echo "no strip here reads this format")"
done
