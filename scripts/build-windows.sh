#!/usr/bin/env bash
# Builds the imstatus SDK for Windows desktop apps (x86_64) on a Linux host with mingw-w64, and
# makes the Windows SDK folder and a zip of it:
#
#   OUT/imstatus-VERSION-windows-x86_64/
#     bin/imstatus.dll                  the DLL (C ABI), stripped; needs Windows 10 or later
#     lib/imstatus.lib                  import library for MSVC (Visual Studio, clang-cl)
#     lib/imstatus.def                  the DLL's exports (imstatus.lib is made from it)
#     lib/libimstatus.dll.a             import library for MinGW
#     lib/libimstatus.a                 static library for MinGW (define IMS_STATIC), no debug info
#     include/imstatus.h                the C header
#     include/imstatus/cpp/V2TIM*.h     the header-only C++ V2TIM wrapper
#     lib/cmake/imstatus/               CMake: find_package(imstatus) (IMPORTED_IMPLIB)
#     lib/pkgconfig/                    pkg-config (MinGW, MSYS2)
#   OUT/imstatus-VERSION-windows-x86_64.zip
#
# The SDK is built alone (`cargo build --release -p imstatus --lib --target
# x86_64-pc-windows-gnu`); scripts/install.sh --windows lays it out. The sizes are printed at the
# end.
#
# Usage: scripts/build-windows.sh [--no-install] [--target-dir DIR] [OUT]
#
#   OUT            where the SDK folder and the zip go (default: target/windows-sdk)
#   --target-dir   cargo's target directory (default: $CARGO_TARGET_DIR, else target)
#   --no-install   install nothing: fail, naming what is missing (tests/windows.rs uses it)
#
# Otherwise it first installs what it needs and is missing: the Rust target
# (`rustup target add x86_64-pc-windows-gnu`) and Debian's mingw-w64 cross compiler and
# binutils (the linker, objdump, strip), llvm (llvm-dlltool, llvm-strip) and zip.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
target=x86_64-pc-windows-gnu

usage() {
  echo "usage: $0 [--no-install] [--target-dir DIR] [OUT]" >&2
  exit 2
}

install_missing=1
target_dir=${CARGO_TARGET_DIR:-$root/target}
out=
while [ $# -gt 0 ]; do
  case "$1" in
    --no-install)
      install_missing=
      shift
      ;;
    --target-dir)
      [ $# -ge 2 ] || usage
      target_dir=$2
      shift 2
      ;;
    -h | --help) usage ;;
    -*) usage ;;
    *)
      [ -z "$out" ] || usage
      out=$1
      shift
      ;;
  esac
done
out=${out:-$root/target/windows-sdk}
cargo=${CARGO:-cargo}

# --- what it needs -------------------------------------------------------------------------

# The Rust standard library for the target (rustup target add puts it there).
have_rust_target() {
  local libdir
  libdir=$(rustc --print target-libdir --target "$target" 2>/dev/null) || return 1
  compgen -G "$libdir/libstd-*.rlib" >/dev/null
}

# tool -> the Debian package that has it.
declare -A packages=(
  [x86_64-w64-mingw32-gcc]=gcc-mingw-w64-x86-64-posix
  [x86_64-w64-mingw32-objdump]=binutils-mingw-w64-x86-64
  [x86_64-w64-mingw32-strip]=binutils-mingw-w64-x86-64
  [llvm-dlltool]=llvm
  [llvm-strip]=llvm
  [zip]=zip
)

missing_packages() {
  local tool
  for tool in "${!packages[@]}"; do
    command -v "$tool" >/dev/null 2>&1 || echo "${packages[$tool]}"
  done | sort -u
}

if [ -n "$install_missing" ]; then
  if ! have_rust_target; then
    rustup target add "$target"
  fi
  mapfile -t needed < <(missing_packages)
  if [ ${#needed[@]} -gt 0 ]; then
    sudo=
    [ "$(id -u)" -ne 0 ] && sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
      "${needed[@]}" >/dev/null
  fi
fi
problems=()
have_rust_target || problems+=("the Rust target $target (rustup target add $target)")
mapfile -t needed < <(missing_packages)
[ ${#needed[@]} -eq 0 ] || problems+=("Debian packages: ${needed[*]}")
if [ ${#problems[@]} -gt 0 ]; then
  echo "build-windows.sh: missing ${problems[*]}; run it without --no-install, or scripts/test, to install them" >&2
  exit 1
fi

# --- build and lay out ---------------------------------------------------------------------

version=$(sed -n 's/^#define IMS_VERSION_STRING "\(.*\)"$/\1/p' "$root/include/imstatus.h")
name=imstatus-$version-windows-x86_64
sdk=$out/$name

(cd "$root" && "$cargo" build --release -p imstatus --lib --target "$target" \
  --target-dir "$target_dir")

rm -rf "$sdk" "$out/$name.zip"
mkdir -p "$out"
bash "$root/scripts/install.sh" --windows --lib-dir "$target_dir/$target/release" "$sdk" >/dev/null
# All symbols and debug information out of the DLL; debug information out of the static
# library (GNU strip stops at the library's empty split-DWARF members, llvm-strip does not).
x86_64-w64-mingw32-strip "$sdk/bin/imstatus.dll"
llvm-strip --strip-debug "$sdk/lib/libimstatus.a"

cat >"$sdk/README.txt" <<EOF
imstatus $version for Windows desktop apps (x86_64, Windows 10 or later)

bin/imstatus.dll         the library: ship it next to your .exe
lib/imstatus.lib         import library for Visual Studio (MSVC, clang-cl)
lib/libimstatus.dll.a    import library for MinGW
lib/libimstatus.a        static library for MinGW: define IMS_STATIC and link
                         -lkernel32 -lntdll -luserenv -lws2_32 -ldbghelp
lib/imstatus.def         what imstatus.dll exports
include/imstatus.h       the C API
include/imstatus/cpp/    the C++ V2TIM API (header-only: #include "V2TIMManager.h")
lib/cmake/imstatus/      CMake: find_package(imstatus), targets imstatus::imstatus and
                         imstatus::cpp (MinGW also: imstatus::imstatus_static, imstatus::cpp_static)

See "Use from Windows" in the project's README.
EOF

(cd "$out" && zip -qrX "$name.zip" "$name")

size() { stat -c %s "$1"; }
echo "Windows SDK: $sdk"
printf '  %-26s %10s bytes\n' \
  bin/imstatus.dll "$(size "$sdk/bin/imstatus.dll")" \
  lib/imstatus.lib "$(size "$sdk/lib/imstatus.lib")" \
  lib/libimstatus.dll.a "$(size "$sdk/lib/libimstatus.dll.a")" \
  lib/libimstatus.a "$(size "$sdk/lib/libimstatus.a")" \
  "../$name.zip" "$(size "$out/$name.zip")"
