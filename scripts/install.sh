#!/usr/bin/env bash
# Installs imstatus for C and C++ users into a prefix:
#
#   PREFIX/lib/libimstatus.so.X.Y.Z               the library (C ABI), SONAME libimstatus.so.X,
#   PREFIX/lib/libimstatus.so.X -> .so.X.Y.Z      the name programs linked against it need,
#   PREFIX/lib/libimstatus.so -> .so.X            and the name -limstatus finds
#                                                 (macOS: PREFIX/lib/libimstatus.dylib)
#   PREFIX/lib/libimstatus.a                      the same, static
#   PREFIX/include/imstatus.h                     the C header
#   PREFIX/include/imstatus/cpp/V2TIM*.h          the header-only C++ V2TIM wrapper
#   PREFIX/lib/pkgconfig/imstatus.pc              pkg-config: C
#   PREFIX/lib/pkgconfig/imstatus-cpp.pc          pkg-config: C++ (requires imstatus)
#   PREFIX/lib/cmake/imstatus/imstatusConfig.cmake, imstatusConfigVersion.cmake
#                                                 CMake: find_package(imstatus)
#
# Usage: scripts/install.sh [--lib-dir DIR] PREFIX
#
# Without --lib-dir it first runs `cargo build --release -p imstatus --lib` and installs from
# $CARGO_TARGET_DIR/release (default target/release). With --lib-dir it installs the libraries
# already built in DIR (tests/cmake_example.rs passes the ones `cargo test` built). The
# installed tree is relocatable: the pkg-config and CMake files find everything relative to
# themselves. Set IMSTATUS_NATIVE_LIBS (space-separated, e.g. "-lpthread -ldl") to override
# what the static library is said to need from the system.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

usage() {
  echo "usage: $0 [--lib-dir DIR] PREFIX" >&2
  exit 2
}

lib_dir=
prefix=
while [ $# -gt 0 ]; do
  case "$1" in
    --lib-dir)
      [ $# -ge 2 ] || usage
      lib_dir=$2
      shift 2
      ;;
    -h | --help) usage ;;
    -*) usage ;;
    *)
      [ -z "$prefix" ] || usage
      prefix=$1
      shift
      ;;
  esac
done
[ -n "$prefix" ] || usage

version=$(sed -n 's/^#define IMS_VERSION_STRING "\(.*\)"$/\1/p' "$root/include/imstatus.h")
[ -n "$version" ] || {
  echo "install.sh: no IMS_VERSION_STRING in include/imstatus.h" >&2
  exit 1
}

case "$(uname -s)" in
  Darwin)
    built=libimstatus.dylib
    shared=$built
    # No versioned names: a macOS library is found by its install name, which rustc sets.
    soname=
    # rustc --print native-static-libs on macOS (not verified on a Mac here).
    native=${IMSTATUS_NATIVE_LIBS:--lSystem -lc -lm}
    ;;
  *)
    built=libimstatus.so
    # build.rs gives the library this SONAME (libimstatus.so.MAJOR).
    soname=libimstatus.so.${version%%.*}
    shared=libimstatus.so.$version
    # rustc --print native-static-libs on Linux/glibc (the same list tests/c/support.rs uses).
    native=${IMSTATUS_NATIVE_LIBS:--lgcc_s -lutil -lrt -lpthread -lm -ldl -lc}
    ;;
esac
static=libimstatus.a

if [ -z "$lib_dir" ]; then
  (cd "$root" && cargo build --release -p imstatus --lib)
  lib_dir="${CARGO_TARGET_DIR:-$root/target}/release"
fi
for lib in "$built" "$static"; do
  [ -f "$lib_dir/$lib" ] || {
    echo "install.sh: $lib_dir/$lib is missing" >&2
    exit 1
  }
done

pointer_bytes=$(($(getconf LONG_BIT) / 8))
# "-lfoo -lbar" -> "foo;bar" for CMake (Threads::Threads stands for -lpthread there).
cmake_native=$(for flag in $native; do
  name=${flag#-l}
  [ "$name" = pthread ] || printf '%s;' "$name"
done)
cmake_native=${cmake_native%;}

mkdir -p "$prefix"
prefix="$(cd "$prefix" && pwd)"
install -d "$prefix/lib/pkgconfig" "$prefix/lib/cmake/imstatus" "$prefix/include/imstatus/cpp"
install -m 755 "$lib_dir/$built" "$prefix/lib/$shared"
if [ -n "$soname" ]; then
  # Relative links, so the tree stays relocatable; they replace an older install's files.
  ln -sfn "$shared" "$prefix/lib/$soname"
  ln -sfn "$soname" "$prefix/lib/$built"
fi
install -m 644 "$lib_dir/$static" "$prefix/lib/$static"
install -m 644 "$root/include/imstatus.h" "$prefix/include/imstatus.h"
install -m 644 "$root"/bindings/cpp/include/*.h "$prefix/include/imstatus/cpp/"

# Fills in a template: @VERSION@, @NATIVE_LIBS@, @CMAKE_NATIVE_LIBS@, @SHARED_LIB@, ...
fill() {
  sed -e "s|@VERSION@|$version|g" \
    -e "s|@NATIVE_LIBS@|$native|g" \
    -e "s|@CMAKE_NATIVE_LIBS@|$cmake_native|g" \
    -e "s|@SHARED_LIB@|$shared|g" \
    -e "s|@SONAME@|$soname|g" \
    -e "s|@STATIC_LIB@|$static|g" \
    -e "s|@SIZEOF_VOID_P@|$pointer_bytes|g" \
    "$1" >"$2"
  chmod 644 "$2"
}
fill "$root/bindings/pkgconfig/imstatus.pc.in" "$prefix/lib/pkgconfig/imstatus.pc"
fill "$root/bindings/pkgconfig/imstatus-cpp.pc.in" "$prefix/lib/pkgconfig/imstatus-cpp.pc"
fill "$root/bindings/cmake/imstatusConfig.cmake.in" "$prefix/lib/cmake/imstatus/imstatusConfig.cmake"
fill "$root/bindings/cmake/imstatusConfigVersion.cmake.in" \
  "$prefix/lib/cmake/imstatus/imstatusConfigVersion.cmake"

echo "installed imstatus $version into $prefix"
