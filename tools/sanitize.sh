#!/usr/bin/env bash
# Build the extension with AddressSanitizer + UndefinedBehaviorSanitizer
# (CMake option PYFASTNN_SANITIZE, -O1) into build-sanitize/, then run the tests
# against it once per instruction set the CPU has (PYFASTNN_KERNEL=portable,
# avx2, avx512). Any memory error or undefined behaviour aborts the run.
#
# Usage: tools/sanitize.sh [pytest arguments]   (default: the whole tests/ suite)
#   JOBS=2          parallel compile jobs
#   ISAS="avx2"     only these instruction sets
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${PYFASTNN_SANITIZE_BUILD:-$root/build-sanitize}
python=${PYTHON:-python3}

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPYFASTNN_SANITIZE=ON \
  -Dpybind11_DIR="$("$python" -m pybind11 --cmakedir)" \
  -DPython_EXECUTABLE="$(command -v "$python")" >/dev/null
ninja -C "$build" -j "${JOBS:-2}"

# The package as in the checkout, with the sanitized extension in it.
pkg=$build/package
rm -rf "$pkg" && mkdir -p "$pkg"
cp -r "$root/pyfastnn" "$pkg/"
rm -f "$pkg"/pyfastnn/_native*.so
cp "$build"/_native*.so "$pkg/pyfastnn/"

# The interpreter is not instrumented: ASan's runtime must come first, and
# libstdc++ with it, or ASan finds no __cxa_throw to intercept when the
# extension throws its first C++ exception.
export LD_PRELOAD
LD_PRELOAD="$("${CXX:-g++}" -print-file-name=libasan.so) $("${CXX:-g++}" -print-file-name=libstdc++.so)"
# CPython's own allocations live until exit: leaks are not checked.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:strict_string_checks=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export PYTHONPATH=$pkg

supported=$("$python" -c 'import pyfastnn as p; i = p.kernel_info()
print(" ".join(["portable"] + ["avx2"] * i["cpu_supports_avx2_fma"]
                + ["avx512"] * i["cpu_supports_avx512"]))')
cd "$root/tests"
for isa in ${ISAS:-$supported}; do
  echo "== sanitized tests, PYFASTNN_KERNEL=$isa"
  # --capture=sys: a sanitizer report (written to file descriptor 2) reaches the terminal
  PYFASTNN_KERNEL=$isa "$python" -m pytest -q -p no:cacheprovider --capture=sys "${@:-.}"
done
echo "sanitized tests passed on: ${ISAS:-$supported}"
