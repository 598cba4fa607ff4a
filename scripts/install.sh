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
# With --windows, the Windows layout of the x86_64-pc-windows-gnu build instead (the headers,
# pkg-config and CMake files as above; scripts/build-windows.sh makes the SDK folder with it):
#
#   PREFIX/bin/imstatus.dll                       the DLL (C ABI)
#   PREFIX/lib/imstatus.lib                       its import library for MSVC (short import
#                                                 format, as lib.exe writes it; llvm-dlltool)
#   PREFIX/lib/imstatus.def                       the DLL's exports, which imstatus.lib is made of
#   PREFIX/lib/libimstatus.dll.a                  its import library for MinGW (rustc's)
#   PREFIX/lib/libimstatus.a                      the static library, for MinGW only (define
#                                                 IMS_STATIC; the CMake target does)
#
# Usage: scripts/install.sh [--windows] [--lib-dir DIR] PREFIX
#
# Without --lib-dir it first runs `cargo build --release -p imstatus --lib` (with --windows:
# `--target x86_64-pc-windows-gnu`) and installs from $CARGO_TARGET_DIR/release (default
# target/release; with --windows target/x86_64-pc-windows-gnu/release). With --lib-dir it
# installs the libraries already built in DIR (tests/cmake_example.rs passes the ones `cargo
# test` built). The installed tree is relocatable: the pkg-config and CMake files find
# everything relative to themselves. Set IMSTATUS_NATIVE_LIBS (space-separated, e.g. "-lpthread
# -ldl") to override what the static library is said to need from the system. --windows needs
# x86_64-w64-mingw32-objdump (Debian: binutils-mingw-w64-x86-64) and llvm-dlltool (llvm).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"

usage() {
  echo "usage: $0 [--windows] [--lib-dir DIR] PREFIX" >&2
  exit 2
}

lib_dir=
prefix=
windows=
while [ $# -gt 0 ]; do
  case "$1" in
    --windows)
      windows=1
      shift
      ;;
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

# What cargo builds (in the build directory), where it goes in the prefix, and the templates'
# values: @SHARED_PATH@ (relative to the prefix), @SONAME@, @IMPLIB_MSVC@ and @IMPLIB_GNU@
# (relative to the prefix; empty but on Windows).
static=libimstatus.a
implib_msvc=
implib_gnu=
if [ -n "$windows" ]; then
  target=x86_64-pc-windows-gnu
  built=imstatus.dll
  shared_path=bin/imstatus.dll
  soname=
  implib_msvc=lib/imstatus.lib
  implib_gnu=lib/libimstatus.dll.a
  # rustc --print native-static-libs for x86_64-pc-windows-gnu.
  native=${IMSTATUS_NATIVE_LIBS:--lkernel32 -lntdll -luserenv -lws2_32 -ldbghelp}
  pointer_bytes=8
  for tool in x86_64-w64-mingw32-objdump llvm-dlltool; do
    command -v "$tool" >/dev/null || {
      echo "install.sh --windows: $tool is missing (Debian: apt-get install binutils-mingw-w64-x86-64 llvm)" >&2
      exit 1
    }
  done
else
  target=
  case "$(uname -s)" in
    Darwin)
      built=libimstatus.dylib
      shared_path=lib/$built
      # No versioned names: a macOS library is found by its install name, which rustc sets.
      soname=
      # rustc --print native-static-libs on macOS (not verified on a Mac here).
      native=${IMSTATUS_NATIVE_LIBS:--lSystem -lc -lm}
      ;;
    *)
      built=libimstatus.so
      # build.rs gives the library this SONAME (libimstatus.so.MAJOR).
      soname=libimstatus.so.${version%%.*}
      shared_path=lib/libimstatus.so.$version
      # rustc --print native-static-libs on Linux/glibc (the same list tests/c/support.rs uses).
      native=${IMSTATUS_NATIVE_LIBS:--lgcc_s -lutil -lrt -lpthread -lm -ldl -lc}
      ;;
  esac
  pointer_bytes=$(($(getconf LONG_BIT) / 8))
fi

if [ -z "$lib_dir" ]; then
  if [ -n "$target" ]; then
    (cd "$root" && cargo build --release -p imstatus --lib --target "$target")
    lib_dir="${CARGO_TARGET_DIR:-$root/target}/$target/release"
  else
    (cd "$root" && cargo build --release -p imstatus --lib)
    lib_dir="${CARGO_TARGET_DIR:-$root/target}/release"
  fi
fi
built_libs=("$built" "$static")
[ -z "$windows" ] || built_libs+=(libimstatus.dll.a)
for lib in "${built_libs[@]}"; do
  [ -f "$lib_dir/$lib" ] || {
    echo "install.sh: $lib_dir/$lib is missing" >&2
    exit 1
  }
done

# "-lfoo -lbar" -> "foo;bar" for CMake (Threads::Threads stands for -lpthread there).
cmake_native=$(for flag in $native; do
  name=${flag#-l}
  [ "$name" = pthread ] || printf '%s;' "$name"
done)
cmake_native=${cmake_native%;}

mkdir -p "$prefix"
prefix="$(cd "$prefix" && pwd)"
install -d "$prefix/lib/pkgconfig" "$prefix/lib/cmake/imstatus" "$prefix/include/imstatus/cpp"
install -d "$prefix/$(dirname "$shared_path")"
install -m 755 "$lib_dir/$built" "$prefix/$shared_path"
if [ -n "$soname" ]; then
  # Relative links, so the tree stays relocatable; they replace an older install's files.
  ln -sfn "$(basename "$shared_path")" "$prefix/lib/$soname"
  ln -sfn "$soname" "$prefix/lib/$built"
fi
install -m 644 "$lib_dir/$static" "$prefix/lib/$static"
if [ -n "$windows" ]; then
  install -m 644 "$lib_dir/libimstatus.dll.a" "$prefix/$implib_gnu"
  # The .def lists what the DLL exports (its export table), and MSVC's import library is made
  # from it in the format lib.exe writes.
  def="$prefix/lib/imstatus.def"
  {
    echo "LIBRARY imstatus.dll"
    echo "EXPORTS"
    x86_64-w64-mingw32-objdump -p "$lib_dir/$built" |
      awk '/^\[Ordinal\/Name Pointer\] Table/ { table = 1; next }
           table && NF == 0 { table = 0 }
           table { print "    " $NF }'
  } >"$def"
  grep -q '^    ims_' "$def" || {
    echo "install.sh: no ims_ function in the export table of $lib_dir/$built" >&2
    exit 1
  }
  chmod 644 "$def"
  llvm-dlltool -m i386:x86-64 -D imstatus.dll -d "$def" -l "$prefix/$implib_msvc"
  chmod 644 "$prefix/$implib_msvc"
fi
install -m 644 "$root/include/imstatus.h" "$prefix/include/imstatus.h"
install -m 644 "$root"/bindings/cpp/include/*.h "$prefix/include/imstatus/cpp/"

# Fills in a template: @VERSION@, @NATIVE_LIBS@, @CMAKE_NATIVE_LIBS@, @SHARED_PATH@, ...
fill() {
  sed -e "s|@VERSION@|$version|g" \
    -e "s|@NATIVE_LIBS@|$native|g" \
    -e "s|@CMAKE_NATIVE_LIBS@|$cmake_native|g" \
    -e "s|@SHARED_PATH@|$shared_path|g" \
    -e "s|@SONAME@|$soname|g" \
    -e "s|@IMPLIB_MSVC@|$implib_msvc|g" \
    -e "s|@IMPLIB_GNU@|$implib_gnu|g" \
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
