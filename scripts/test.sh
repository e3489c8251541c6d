#!/usr/bin/env bash
# The test command (npm test): typecheck, then the whole suite on cpu, the tensor suites again on
# wasm and on WebGPU (Node, Dawn; SwiftShader when there is no GPU), then the browser e2e if present.
# Prints one closing line "N passed, N failed" over all runs.
set -u
cd "$(dirname "$0")/.."
export VK_ICD_FILENAMES="${VK_ICD_FILENAMES:-/usr/lib/chromium/vk_swiftshader_icd.json}"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp}"
# two test files run at once: one wasm thread each (the threaded pool has its own test, test/core/wasm-threads)
export DOCRE_THREADS="${DOCRE_THREADS:-1}"
mkdir -p test-output
pass=0; fail=0; status=0

echo "== typecheck"
if ! npx tsc -p tsconfig.json --noEmit; then echo "typecheck failed"; status=1; fail=$((fail+1)); fi

# Tensor suites (every backend): core, heads, losses, encoders, models. Data/text/train/cli: cpu only.
tensor_files=$(find test/core test/heads test/losses test/encoders test/models -name '*.test.ts' 2>/dev/null | sort)
cpu_only_files=$(find test/data test/train test/cli test/examples test/text test/extract -name '*.test.ts' 2>/dev/null | sort)

run() { # backend files...
  local backend=$1; shift
  [ $# -eq 0 ] && return
  echo "== $backend: $# files"
  local log="test-output/test-$backend.log"
  DOCRE_BACKEND=$backend node --import tsx --test --test-concurrency=2 --test-reporter=spec "$@" 2>&1 | tee "$log" | grep -vE '^\s*(ℹ|▶|✔)' || true
  local p f
  p=$(grep -E '^ℹ pass [0-9]+' "$log" | tail -1 | awk '{print $3}')
  f=$(grep -E '^ℹ fail [0-9]+' "$log" | tail -1 | awk '{print $3}')
  echo "$backend: ${p:-0} passed, ${f:-?} failed"
  pass=$((pass + ${p:-0})); fail=$((fail + ${f:-1}))
  [ "${f:-1}" != 0 ] && status=1
  return 0
}

# shellcheck disable=SC2086
run cpu $tensor_files $cpu_only_files
# shellcheck disable=SC2086
run wasm $tensor_files
# shellcheck disable=SC2086
run webgpu $tensor_files

if [ -f test/browser/e2e.mjs ]; then
  echo "== browser e2e"
  if node test/browser/e2e.mjs; then pass=$((pass+1)); else fail=$((fail+1)); status=1; fi
fi

echo "$pass passed, $fail failed"
exit $status
