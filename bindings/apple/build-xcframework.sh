#!/usr/bin/env bash
# Builds imstatus.xcframework for iOS and macOS apps: one static library per platform holding the
# Rust SDK core (the C API of include/imstatus.h) and the Objective-C V2TIM wrapper
# (bindings/apple/src, compiled with ARC), with the headers and the Clang module map.
#
#   bindings/apple/build-xcframework.sh [OUTPUT_DIR]       (default: target/apple)
#
# Slices:
#   ios-arm64                      aarch64-apple-ios
#   ios-arm64_x86_64-simulator     aarch64-apple-ios-sim + x86_64-apple-ios   (merged with lipo)
#   macos-arm64_x86_64             aarch64-apple-darwin + x86_64-apple-darwin (merged with lipo)
# Each slice's Headers/imstatus/ holds imstatus.h, V2TIMManager.h, IMStatusExtensions.h, TIMErrorCode.h and
# module.modulemap (a subdirectory, so that it does not collide with other xcframeworks' module
# maps in the app's build products).
#
# Needs macOS with Xcode (xcodebuild, xcrun, clang, lipo, libtool) and rustup. Deployment targets:
# IPHONEOS_DEPLOYMENT_TARGET (default 13.0) and MACOSX_DEPLOYMENT_TARGET (default 10.15).
set -euo pipefail

cd "$(dirname "$0")/../.."
root=$PWD
out=${1:-$root/target/apple}

if [ "$(uname -s)" != Darwin ]; then
    echo "build-xcframework.sh: needs macOS with Xcode (xcodebuild, lipo, libtool)" >&2
    exit 1
fi
for tool in cargo rustup xcodebuild xcrun lipo libtool; do
    command -v "$tool" >/dev/null 2>&1 || { echo "build-xcframework.sh: $tool is missing" >&2; exit 1; }
done

export IPHONEOS_DEPLOYMENT_TARGET=${IPHONEOS_DEPLOYMENT_TARGET:-13.0}
export MACOSX_DEPLOYMENT_TARGET=${MACOSX_DEPLOYMENT_TARGET:-10.15}

# Rust target, SDK, clang target of the Objective-C wrapper.
targets=(
    "aarch64-apple-ios      iphoneos        arm64-apple-ios$IPHONEOS_DEPLOYMENT_TARGET"
    "aarch64-apple-ios-sim  iphonesimulator arm64-apple-ios$IPHONEOS_DEPLOYMENT_TARGET-simulator"
    "x86_64-apple-ios       iphonesimulator x86_64-apple-ios$IPHONEOS_DEPLOYMENT_TARGET-simulator"
    "aarch64-apple-darwin   macosx          arm64-apple-macos$MACOSX_DEPLOYMENT_TARGET"
    "x86_64-apple-darwin    macosx          x86_64-apple-macos$MACOSX_DEPLOYMENT_TARGET"
)

rustup target add aarch64-apple-ios aarch64-apple-ios-sim x86_64-apple-ios \
    aarch64-apple-darwin x86_64-apple-darwin

work=$out/work
rm -rf "$work" "$out/imstatus.xcframework"
mkdir -p "$work"

for entry in "${targets[@]}"; do
    read -r triple sdk clang_target <<<"$entry"
    echo "== $triple"
    cargo build --release -p imstatus --lib --target "$triple"
    dir=$work/$triple
    mkdir -p "$dir"
    # The wrapper, with ARC; blocks and listener methods go to the main queue (__APPLE__).
    xcrun --sdk "$sdk" clang -target "$clang_target" -isysroot "$(xcrun --sdk "$sdk" --show-sdk-path)" \
        -x objective-c -fobjc-arc -fobjc-exceptions -fmodules -O2 -g -Wall \
        -I "$root/include" -I "$root/bindings/apple/include" \
        -c "$root/bindings/apple/src/V2TIMManager.m" -o "$dir/V2TIMManager.o"
    # One archive: the Rust core and the wrapper.
    libtool -static -o "$dir/libimstatus.a" "$root/target/$triple/release/libimstatus.a" "$dir/V2TIMManager.o"
done

mkdir -p "$work/ios" "$work/ios-simulator" "$work/macos"
cp "$work/aarch64-apple-ios/libimstatus.a" "$work/ios/libimstatus.a"
lipo -create "$work/aarch64-apple-ios-sim/libimstatus.a" "$work/x86_64-apple-ios/libimstatus.a" \
    -output "$work/ios-simulator/libimstatus.a"
lipo -create "$work/aarch64-apple-darwin/libimstatus.a" "$work/x86_64-apple-darwin/libimstatus.a" \
    -output "$work/macos/libimstatus.a"

headers=$work/Headers
mkdir -p "$headers/imstatus"
cp "$root/include/imstatus.h" \
    "$root/bindings/apple/include/V2TIMManager.h" \
    "$root/bindings/apple/include/IMStatusExtensions.h" \
    "$root/bindings/apple/include/TIMErrorCode.h" \
    "$root/bindings/apple/module.modulemap" \
    "$headers/imstatus/"

xcodebuild -create-xcframework \
    -library "$work/ios/libimstatus.a" -headers "$headers" \
    -library "$work/ios-simulator/libimstatus.a" -headers "$headers" \
    -library "$work/macos/libimstatus.a" -headers "$headers" \
    -output "$out/imstatus.xcframework"

echo "$out/imstatus.xcframework"
