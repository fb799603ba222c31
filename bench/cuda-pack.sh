#!/usr/bin/env bash
# cuda-pack.sh - packs what the GPU benchmark machine lacks into .carry/
# (git-ignored): the CUDA build of rnnlab and its tests, and the shared
# libraries they load that a machine with only the CUDA toolkit and
# PyTorch does not have (OpenBLAS, cJSON, gfortran, subunit, ...).  The
# CUDA runtime is linked statically; cuBLAS, which rnnlab opens with
# dlopen when it creates a CUDA backend, is left out: the GPU machine's
# toolkit provides it (on the rpath or LD_LIBRARY_PATH), and cuBLASLt alone
# is over 500 MB.
#
#   bench/cuda-pack.sh            # after ./bootstrap --with-cuda && make
#   ls .carry/bin .carry/lib
#
# bench/cuda.sh then runs from .carry/ with LD_LIBRARY_PATH set.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

die() { echo "cuda-pack.sh: $*" >&2; exit 1; }

[ -x src/rnnlab ] || die "build first: ./bootstrap --with-cuda && make"
grep -q '^#define HAVE_CUDA 1' config.h 2>/dev/null \
    || die "src/rnnlab is not a CUDA build (configure --with-cuda)"
make -s tests/check_cuda tests/check_cuda_host >/dev/null \
    || die "cannot build tests/check_cuda (make tests/check_cuda)"

rm -rf .carry
mkdir -p .carry/bin .carry/lib
cp src/rnnlab tests/check_cuda tests/check_cuda_host .carry/bin/

# Libraries the programs load, minus the C runtime every Linux has and the
# CUDA toolkit's own.
skip='^(linux-vdso|ld-linux|libc\.|libm\.|libdl\.|libpthread\.|librt\.|libstdc\+\+|libgcc_s|libcuda|libcudart|libcublas)'
for bin in .carry/bin/*; do
    ldd "$bin" | awk '/=> \//{print $1, $3}'
done | sort -u | while read -r name path; do
    if ! echo "$name" | grep -E "$skip" >/dev/null; then
        cp -L "$path" ".carry/lib/$name"
    fi
done

# What the build was linked against, to compare with the GPU machine.
{
    echo "built: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -m)"
    echo "glibc: $(ldd --version | head -n 1)"
    echo "needs: $(for f in .carry/bin/* .carry/lib/*; do objdump -T "$f" 2>/dev/null; done \
        | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -n 1) or newer on the GPU machine"
    echo "nvcc: $(grep -o 'NVCC = .*' Makefile | head -n 1)"
    echo "gencode: $(grep -o '^CUDA_GENCODE = .*' Makefile | head -n 1)"
    echo "libraries:"
    ls -l .carry/lib | awk 'NR > 1 {print "  " $9, $5}'
} >.carry/PACKED
du -sh .carry
cat .carry/PACKED
