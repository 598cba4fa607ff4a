#!/usr/bin/env bash
# Runs the cargo-fuzz targets under coverage and prints, per target, the executions and the
# coverage reached.
#
#   fuzz/run.sh                  every target for 60 s
#   fuzz/run.sh 600              every target for 10 minutes
#   fuzz/run.sh 600 usersig      one target
#
# Installs what it needs: the nightly toolchain (rustup) and cargo-fuzz. Each target starts from
# its seeds in fuzz/corpus/TARGET and keeps what it learns in target/fuzz-corpus/TARGET (not in
# the repository). A crash stops that target, is saved under fuzz/artifacts/TARGET/, and this
# script exits non-zero: copy the input into fuzz/regressions/TARGET/ so that
# server/tests/decoders.rs checks it on every CI run, then fix the decoder.
set -euo pipefail
cd "$(dirname "$0")"
SECONDS_EACH=${1:-60}
shift || true
TARGETS=("$@")
[ ${#TARGETS[@]} -eq 0 ] && TARGETS=(frame request server_message usersig admin_body config)

rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
cargo +nightly fuzz --version >/dev/null 2>&1 || cargo install cargo-fuzz --locked

failed=0
report=()
for target in "${TARGETS[@]}"; do
  work=../target/fuzz-corpus/$target
  mkdir -p "$work"
  log=../target/fuzz-$target.log
  echo "fuzzing $target for ${SECONDS_EACH}s" >&2
  if ! cargo +nightly fuzz run "$target" "$work" "corpus/$target" -- \
      -max_total_time="$SECONDS_EACH" -print_final_stats=1 >"$log" 2>&1; then
    echo "$target: CRASH (see $log and fuzz/artifacts/$target/)" >&2
    failed=1
  fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*')
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*')
  corpus=$(ls "$work" | wc -l)
  report+=("| $target | ${SECONDS_EACH} | ${execs:-?} | ${cov:-?} | ${ft:-?} | $corpus |")
done
echo
echo "| target | seconds | executions | coverage (edges) | features | corpus |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${report[@]}"
exit $failed
