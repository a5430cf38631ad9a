#!/usr/bin/env bash
# Bounded fuzzing for CI: build the cargo-fuzz targets, seed their corpora from the repository, run
# each for FUZZ_SECONDS, and fail if any of them found a crash, a timeout or an out-of-memory input.
# Prints the executions per target. Needs cargo-fuzz (`cargo install cargo-fuzz --locked`).
#
# Toolchain: nightly when installed; otherwise stable with RUSTC_BOOTSTRAP=1, which lets stable accept
# the -Z flags cargo-fuzz passes (a machine may have only the one stable toolchain).
#
# Environment (defaults in brackets):
#   FUZZ_SECONDS    [60]    run time of each target
#   FUZZ_TARGETS    [all]   targets to run, space-separated
#   FUZZ_SANITIZER  [none]  address, or none: reggate forbids unsafe code of its own, so ASan would
#                           mostly watch its dependencies' unsafe code, at about half the speed
#   FUZZ_TOOLCHAIN  [auto]  nightly, or stable (with RUSTC_BOOTSTRAP=1)
#   FUZZ_RSS_MB     [2048]  libFuzzer's -rss_limit_mb (an input using more is a failure)
#   FUZZ_TIMEOUT    [10]    libFuzzer's -timeout: seconds one input may take
#   FUZZ_TARGET_DIR [fuzz/target]  where the instrumented build goes; a directory outside the clone
#                           that survives between CI runs on one machine makes the build incremental
#
# A failing input is left in fuzz/artifacts/<target>/. To keep it: fix the code, then copy it to
# fuzz/regressions/<target>/ (with `_err_` in its name if the code must refuse it) so that
# `cargo test --release --test fuzz_regressions` replays it without the fuzzer.
set -euo pipefail
cd "$(dirname "$0")"

seconds=${FUZZ_SECONDS:-60}
read -r -a targets <<<"${FUZZ_TARGETS:-validator application_json soap_reply}"
sanitizer=${FUZZ_SANITIZER:-none}
rss_mb=${FUZZ_RSS_MB:-2048}
timeout=${FUZZ_TIMEOUT:-10}
target_dir=${FUZZ_TARGET_DIR:-target}

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz/ci.sh: cargo-fuzz is not installed (cargo install cargo-fuzz --locked)" >&2
  exit 2
fi

toolchain=${FUZZ_TOOLCHAIN:-auto}
if [ "$toolchain" = auto ]; then
  if rustup run nightly rustc --version >/dev/null 2>&1; then toolchain=nightly; else toolchain=stable; fi
fi
if [ "$toolchain" = nightly ]; then
  cargo=(cargo +nightly)
else
  cargo=(cargo +stable)
  export RUSTC_BOOTSTRAP=1
fi
echo "fuzz: $("${cargo[@]}" --version), sanitizer $sanitizer, ${seconds}s per target"

start=$(date +%s)
mkdir -p target/fuzz-logs
build() {
  # Several codegen units: the build of reggate itself uses both cores (cargo-fuzz defaults to one).
  "${cargo[@]}" fuzz build --sanitizer "$sanitizer" --codegen-units "${FUZZ_CODEGEN_UNITS:-16}" \
    --target-dir "$target_dir" "$@" \
    >>target/fuzz-logs/build.log 2>&1 || {
    tail -n 80 target/fuzz-logs/build.log >&2
    echo "fuzz: build failed" >&2
    exit 1
  }
}
: >target/fuzz-logs/build.log
if [ -z "${FUZZ_TARGETS:-}" ]; then
  build
else
  for t in "${targets[@]}"; do build "$t"; done
fi
built=$(date +%s)
echo "fuzz: built in $((built - start))s"
bin=$target_dir/x86_64-unknown-linux-gnu/release

# Corpora: fuzz/corpus/<target>/ (not committed) takes what the fuzzer finds; the seeds come from the
# repository and are read, never written.
seed_corpus() {
  local t=$1 dir=corpus/$1
  rm -rf "$dir"
  mkdir -p "$dir"
  case $t in
    validator)
      # Each registry schema, compiled from text, with its own registry's messages as instances.
      for xsd in ../schemas/*-registry-*.xsd; do
        local registry
        registry=$(basename "$xsd" | cut -d- -f1)
        for xml in ../fixtures/messages/"$registry"-*.xml; do
          { cat "$xsd"; printf '\0'; cat "$xml"; } >"$dir/$(basename "$xsd" .xsd)--$(basename "$xml" .xml).bin"
        done
      done
      ;;
    soap_reply)
      # The first byte names the operation (index in Operation::ALL), status and content type.
      local ops=(snils-verify inn-find inn-verify children-find-birth-record labour-get-family-status
        labour-get-active-assignments labour-register-assignment)
      for i in "${!ops[@]}"; do
        for xml in ../fixtures/messages/"${ops[$i]}"-*.xml ../fixtures/messages/invalid/"${ops[$i]}"-*.xml; do
          [ -e "$xml" ] || continue
          local head=$i
          case $xml in *fault*) head=$((i | 2 << 3)) ;; esac # HTTP 500
          { printf "\\x$(printf %02x "$head")"; cat "$xml"; } >"$dir/$(basename "$xml" .xml).bin"
        done
      done
      ;;
  esac
}

dict_of() {
  case $1 in
    application_json) echo dicts/json.dict ;;
    *) echo dicts/xml.dict ;;
  esac
}

readonly_corpora() {
  local t=$1
  for d in "seeds/$t" "regressions/$t"; do [ -d "$d" ] && echo "$d"; done
  [ "$t" = validator ] && echo ../fixtures/messages
  return 0
}

failed=()
summary=()
for t in "${targets[@]}"; do
  seed_corpus "$t"
  mkdir -p "artifacts/$t"
  log=target/fuzz-logs/$t.log
  mapfile -t extra < <(readonly_corpora "$t")
  echo "fuzz: $t for ${seconds}s (log: fuzz/$log)"
  set +e
  "$bin/$t" -max_total_time="$seconds" -rss_limit_mb="$rss_mb" -timeout="$timeout" \
    -dict="$(dict_of "$t")" -artifact_prefix="artifacts/$t/" -print_final_stats=1 \
    "corpus/$t" "${extra[@]}" >"$log" 2>&1
  rc=$?
  set -e
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
  line="$t: ${execs:-?} executions (${rate:-?}/s), ${cov:-cov: ?}, exit $rc"
  summary+=("$line")
  echo "fuzz: $line"
  if [ "$rc" -ne 0 ] || compgen -G "artifacts/$t/*" >/dev/null; then
    failed+=("$t")
    echo "fuzz: $t FAILED; the end of its log:" >&2
    tail -n 60 "$log" >&2
    ls -l "artifacts/$t" >&2 || true
  fi
done

end=$(date +%s)
echo "fuzz: summary (build $((built - start))s, total $((end - start))s)"
printf '  %s\n' "${summary[@]}"
echo "fuzz: $((${#targets[@]} - ${#failed[@]})) passed, ${#failed[@]} failed"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: failures in: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
  exit 1
fi
