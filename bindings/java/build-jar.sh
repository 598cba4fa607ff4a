#!/usr/bin/env bash
# Builds imstatus.jar, the Java V2TIM API (package io.imstatus.v2), with javac and jar alone: no
# network build tool. The classes target Java 8, as Android's toolchain expects. The R8/ProGuard
# keep rules ride along as META-INF/proguard/imstatus.pro. The native library is built apart:
# `cargo build --release -p imstatus --lib --features jni` (see README, "Use from Android").
#
# Usage: bindings/java/build-jar.sh [OUT_DIR]      (default: target/java)
# Prints the path of the jar.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/../../target/java}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
classes="$out/classes"
rm -rf "$classes" "$out/imstatus.jar"
mkdir -p "$classes/META-INF/proguard"

sources=()
while IFS= read -r -d '' f; do sources+=("$f"); done < <(find "$here/src" -name '*.java' -print0)
javac --release 8 -encoding UTF-8 -Xlint:all -Werror -d "$classes" "${sources[@]}"
cp "$here/consumer-rules.pro" "$classes/META-INF/proguard/imstatus.pro"
jar cf "$out/imstatus.jar" -C "$classes" .
echo "$out/imstatus.jar"
