#!/bin/sh
# mpi.sh - `rnnlab train` under mpirun: 2 and 3 processes agree with one on the same global batch, runs repeat bit for bit, gradients summed during the backward pass match one sum after it, dropout masks are the one-process ones, a session resumes with another number of processes, a token cache is built once, stop signals save once, failures end every process with one line, and a killed process leaves the last session intact, and RNNLAB_NCCL chooses the sums on GPUs (two processes on two GPUs with NCCL against one, where there are two GPUs).
#
# Skips (77) without mpirun or with an rnnlab built without MPI, except in
# continuous integration (CI set and not empty), where it fails.
#
# Tolerances, float32 sums over the processes in another order: per-step
# losses within 1e-5 relative, saved weights within 1e-5 absolute (50 steps
# of Adam; measured: 3e-7 and 2e-7).
set -u

: "${RNNLAB:=src/rnnlab}"
: "${srcdir:=.}"
python=${PYTHON:-/usr/bin/python3}
# mpirun refuses root without these (containers, CI); they change nothing else
OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_ALLOW_RUN_AS_ROOT OMPI_ALLOW_RUN_AS_ROOT_CONFIRM
# Containers often forbid the cross-process memory reads Open MPI's shared
# memory transport uses for large messages; copying through its buffers
# works everywhere.
: "${OMPI_MCA_btl_vader_single_copy_mechanism=none}"
export OMPI_MCA_btl_vader_single_copy_mechanism
# In the sanitizer build (tests/asan.sh sets ASAN_OPTIONS) LeakSanitizer
# would report what Open MPI keeps past MPI_Finalize: its libraries are
# suppressed by name.  Its plug-ins stay loaded so that their frames keep
# their names, and stacks are unwound in full (slow, so only here) because
# those libraries have no frame pointers.
if [ -n "${ASAN_OPTIONS:-}" ]; then
    supp=$(cd "$srcdir/tests" && pwd)/mpi-leaks.supp
    LSAN_OPTIONS="suppressions=$supp:fast_unwind_on_malloc=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
    OMPI_MCA_mca_base_component_disable_dlclose=1
    export LSAN_OPTIONS OMPI_MCA_mca_base_component_disable_dlclose
fi

unavailable() {
    if [ -n "${CI:-}" ]; then
        echo "FAIL: $1, and CI must run this test"
        exit 1
    fi
    echo "SKIP: $1"
    exit 77
}

command -v mpirun >/dev/null 2>&1 ||
    unavailable "mpirun is not installed (Debian: apt-get install openmpi-bin libopenmpi-dev, then ./bootstrap)"
command -v "$python" >/dev/null 2>&1 || unavailable "$python is not installed"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rnnlab-mpi.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail=0

# mpi N ARGS...: rnnlab under mpirun with N processes (one core each at most).
mpi() {
    n=$1
    shift
    mpirun -q --oversubscribe -np "$n" "$RNNLAB" "$@"
}

# A build without MPI says so in one line under a launch of several.
mpi 2 train --help >"$tmp/help" 2>&1
rc=$?
if grep -q "built without MPI" "$tmp/help"; then
    if [ "$rc" -eq 0 ] || [ "$(grep -c '^rnnlab:' "$tmp/help")" -ne 1 ]; then
        echo "FAIL: a build without MPI should refuse in one line and exit 1:"
        cat "$tmp/help"
        exit 1
    fi
    unavailable "rnnlab was built without MPI (Debian: apt-get install libopenmpi-dev, then ./bootstrap)"
fi
if [ "$rc" -ne 0 ]; then
    echo "FAIL: mpirun could not run rnnlab:"
    cat "$tmp/help"
    exit 1
fi

# A text of about 60 KB.
i=0
while [ $i -lt 800 ]; do
    echo "Line $i: the quick brown fox jumps over the lazy dog, and then rests."
    i=$((i + 1))
done >"$tmp/corpus.txt"

cat >"$tmp/compare.py" <<'PY'
import json, struct, sys

def tensors(path):
    raw = open(path, "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    head = json.loads(raw[8:8 + n])
    head.pop("__metadata__", None)
    data = raw[8 + n:]
    return {k: (v["shape"], struct.unpack("<%df" % ((v["data_offsets"][1] - v["data_offsets"][0]) // 4),
                                          data[v["data_offsets"][0]:v["data_offsets"][1]]))
            for k, v in head.items()}

def losses(path, first=1, last=10**9):
    rows = [json.loads(l) for l in open(path) if l.startswith("{")]
    return {r["step"]: r["loss"] for r in rows if first <= r["step"] <= last}

what = sys.argv[1]
if what == "losses":            # losses A B TOL [FIRST LAST]: same steps, close losses
    first, last = (int(sys.argv[5]), int(sys.argv[6])) if len(sys.argv) > 6 else (1, 10**9)
    a, b = losses(sys.argv[2], first, last), losses(sys.argv[3], first, last)
    if not a or sorted(a) != sorted(b):
        sys.exit("steps differ: %s vs %s" % (sorted(a), sorted(b)))
    worst = max(abs(a[s] - b[s]) / abs(a[s]) for s in a)
    print("losses of steps %d-%d: max relative difference %.1e" % (min(a), max(a), worst))
    sys.exit(0 if worst <= float(sys.argv[4]) else 1)
if what == "weights":           # weights DIR-A DIR-B TOL: same tensors, close values
    for f in ("model", "optimizer"):
        a = tensors("%s/%s.safetensors" % (sys.argv[2], f))
        b = tensors("%s/%s.safetensors" % (sys.argv[3], f))
        if {k: v[0] for k, v in a.items()} != {k: v[0] for k, v in b.items()}:
            sys.exit("%s.safetensors: tensors or shapes differ" % f)
        worst = max(max(abs(x - y) for x, y in zip(a[k][1], b[k][1])) for k in a)
        print("%s.safetensors: max absolute difference %.1e" % (f, worst))
        if f == "model" and worst > float(sys.argv[4]):
            sys.exit(1)
if what == "shape":             # shape DIR TENSOR: its shape
    print(tensors(sys.argv[2] + "/optimizer.safetensors")[sys.argv[3]][0])
PY

compare() {
    "$python" "$tmp/compare.py" "$@"
}

ok() {
    echo "ok   $1"
}

bad() {
    echo "FAIL $1"
    fail=1
}

# --- 1. 1, 2 and 3 processes on the same global batch (dropout 0) ---
train="train --corpus $tmp/corpus.txt --model lstm --layers 2 --hidden 32 --embed 16
       --seq-len 32 --batch 12 --dropout 0 --eval-every 25 --threads 1 --seed 7"
# shellcheck disable=SC2086
"$RNNLAB" $train --steps 50 --json --save "$tmp/n1" >"$tmp/n1.json" 2>"$tmp/n1.err" ||
    { bad "one process"; cat "$tmp/n1.err"; }
for n in 2 3; do
    # shellcheck disable=SC2086
    if ! mpi $n $train --steps 50 --json --save "$tmp/n$n" >"$tmp/n$n.json" 2>"$tmp/n$n.err"; then
        bad "$n processes: rnnlab failed"; cat "$tmp/n$n.err"; continue
    fi
    if compare losses "$tmp/n1.json" "$tmp/n$n.json" 1e-5 &&
       compare weights "$tmp/n1" "$tmp/n$n" 1e-5; then
        ok "$n processes agree with one"
    else
        bad "$n processes differ from one"
    fi
done
[ "$(grep -c '"step"' "$tmp/n3.json")" -eq 50 ] || bad "3 processes printed other than 50 steps"

# --- 2. dropout masks keyed by the global stream; runs repeat bit for bit ---
drop="train --corpus $tmp/corpus.txt --model gru --layers 2 --hidden 24 --embed 8
      --seq-len 16 --batch 9 --dropout 0.3 --eval-every 0 --threads 1 --seed 3 --steps 30"
# shellcheck disable=SC2086
"$RNNLAB" $drop --json --save "$tmp/d1" >"$tmp/d1.json" 2>/dev/null &&
    mpi 3 $drop --json --save "$tmp/d3" >"$tmp/d3.json" 2>/dev/null &&
    mpi 3 $drop --json --save "$tmp/d3b" >"$tmp/d3b.json" 2>/dev/null ||
    bad "dropout runs failed"
if compare losses "$tmp/d1.json" "$tmp/d3.json" 1e-5 &&
   compare weights "$tmp/d1" "$tmp/d3" 1e-5; then
    ok "dropout 0.3: 3 processes draw one process's masks"
else
    bad "dropout 0.3: 3 processes differ from one"
fi
# --- 2b. the AWD-LSTM regularisers: every mask (locked, embedding rows,
# weight drop) and jittered length of one process, AR/TAR summed, and
# NT-ASGD switching on the same validations ---
awd="train --corpus $tmp/corpus.txt --model lstm --layers 2 --hidden 24 --embed 8
     --seq-len 16 --batch 9 --dropout 0.3 --locked-dropout --dropout-embed 0.2
     --weight-drop 0.4 --ar 1 --tar 1 --bptt-jitter --optimizer ntasgd --lr 10 --clip 0.25
     --nonmono 1 --eval-every 4 --threads 1 --seed 5 --steps 24"
# shellcheck disable=SC2086
"$RNNLAB" $awd --json --save "$tmp/a1" >"$tmp/a1.json" 2>/dev/null &&
    mpi 3 $awd --json --save "$tmp/a3" >"$tmp/a3.json" 2>/dev/null ||
    bad "awd runs failed"
if compare losses "$tmp/a1.json" "$tmp/a3.json" 1e-5 &&
   compare weights "$tmp/a1" "$tmp/a3" 1e-5; then
    ok "AWD regularisers and ntasgd: 3 processes agree with one ($(grep -c averaging "$tmp/a1.json") steps averaged)"
else
    bad "AWD regularisers and ntasgd: 3 processes differ from one"
fi

if cmp -s "$tmp/d3/model.safetensors" "$tmp/d3b/model.safetensors" &&
   cmp -s "$tmp/d3/optimizer.safetensors" "$tmp/d3b/optimizer.safetensors" &&
   compare losses "$tmp/d3.json" "$tmp/d3b.json" 0 >/dev/null; then
    ok "3 processes: the same bits run after run"
else
    bad "3 processes: two runs differ"
fi

# --- 2c. the gradients summed during the backward pass (layer by layer,
# several sums in flight) against one sum after it: the same bits with 2
# processes (each float is one addition), close with 3; a tied, frozen
# embedding exercises the last sum (its zeroed rows) ---
ovl="train --corpus $tmp/corpus.txt --model lstm --layers 3 --hidden 48 --embed 48 --tie
     --freeze-embed --seq-len 16 --batch 8 --dropout 0.2 --eval-every 0 --threads 1
     --seed 11 --steps 12"
for n in 2 3; do
    for how in overlap after; do
        # shellcheck disable=SC2086
        RNNLAB_ALLREDUCE=$how mpi $n $ovl --json --save "$tmp/o$n-$how" >"$tmp/o$n-$how.json" \
            2>"$tmp/o$n.err" || { bad "RNNLAB_ALLREDUCE=$how, $n processes failed"; cat "$tmp/o$n.err"; }
    done
done
if cmp -s "$tmp/o2-overlap/model.safetensors" "$tmp/o2-after/model.safetensors" &&
   cmp -s "$tmp/o2-overlap/optimizer.safetensors" "$tmp/o2-after/optimizer.safetensors" &&
   compare losses "$tmp/o2-overlap.json" "$tmp/o2-after.json" 0 >/dev/null; then
    ok "2 processes: sums during the backward pass give the bits of one sum after it"
else
    bad "2 processes: sums during the backward pass differ from one sum after it"
fi
if compare losses "$tmp/o3-overlap.json" "$tmp/o3-after.json" 1e-5 >/dev/null &&
   compare weights "$tmp/o3-overlap" "$tmp/o3-after" 1e-5 >/dev/null; then
    ok "3 processes: sums during the backward pass within 1e-5 of one sum after it"
else
    bad "3 processes: sums during the backward pass differ from one sum after it"
fi

# --- 3. saved with 2 processes, resumed with 1 and with 3 ---
# shellcheck disable=SC2086
mpi 2 $train --steps 20 --quiet --save "$tmp/r" >/dev/null 2>&1 || bad "2 processes: save failed"
shape=$(compare shape "$tmp/r" state.h)
[ "$shape" = "[2, 12, 32]" ] && ok "the saved state holds every stream: $shape" ||
    bad "state.h of a 2-process session is $shape, not [2, 12, 32]"
for n in 1 3; do
    cp -R "$tmp/r" "$tmp/r$n"
    if [ $n -eq 1 ]; then
        "$RNNLAB" train --resume "$tmp/r$n" --steps 10 --json --threads 1 >"$tmp/r$n.json" 2>/dev/null
    else
        mpi $n train --resume "$tmp/r$n" --steps 10 --json --threads 1 >"$tmp/r$n.json" 2>/dev/null
    fi || bad "resuming with $n failed"
    if compare losses "$tmp/n1.json" "$tmp/r$n.json" 1e-5 21 30; then
        ok "saved with 2, resumed with $n: steps 21-30 as one process's"
    else
        bad "saved with 2, resumed with $n: differs from one process's run"
    fi
done

# rank_pid MPIRUN-PID RANK: the process of that rank (mpirun's child).
rank_pid() {
    for p in $(pgrep -P "$1"); do
        if tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=$2"; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

# wait_for FILE: up to 60 s.
wait_for() {
    k=0
    while [ ! -e "$1" ] && [ $k -lt 300 ]; do
        sleep 0.2
        k=$((k + 1))
    done
    [ -e "$1" ]
}

long="train --corpus $tmp/corpus.txt --model lstm --layers 1 --hidden 32 --embed 8
      --seq-len 16 --batch 6 --eval-every 0 --threads 1"

# --- 4. a stop: SIGTERM to rank 0, SIGUSR1 to mpirun (which forwards it) ---
for how in rank0-TERM mpirun-USR1; do
    # shellcheck disable=SC2086
    mpirun -q --oversubscribe -np 2 "$RNNLAB" $long --save "$tmp/s-$how" --save-every 3 \
        >"$tmp/s.out" 2>&1 &
    mp=$!
    wait_for "$tmp/s-$how/session.json"
    if [ $how = rank0-TERM ]; then
        kill -TERM "$(rank_pid $mp 0)"
    else
        kill -USR1 $mp
    fi
    wait $mp
    rc=$?
    if [ $rc -eq 0 ] && [ "$(grep -c '^saved session' "$tmp/s.out")" -eq 1 ] &&
       grep -q "(interrupted)" "$tmp/s.out" &&
       "$RNNLAB" eval "$tmp/s-$how" --streams 4 >/dev/null 2>&1; then
        ok "$how: every process stops after its step, one save, status 0"
    else
        bad "$how: status $rc"; cat "$tmp/s.out"
    fi
done

# --- 5. failures: every process ends, one line, status 1 ---
# only_line FILE TEXT: FILE's one "rnnlab:" line contains TEXT
only_line() {
    [ "$(grep -c '^rnnlab:' "$1")" -eq 1 ] && grep -q "^rnnlab: .*$2" "$1"
}
tiny="train --model rnn --layers 1 --hidden 16 --embed 8 --seq-len 16 --batch 6
      --eval-every 0 --threads 1 --quiet"
# shellcheck disable=SC2086
mpi 2 $tiny --corpus "$tmp/corpus.txt" --optimizer sgd --lr 3e38 --clip 0 --steps 30 >"$tmp/f.out" 2>&1
rc=$?
[ $rc -ne 0 ] && only_line "$tmp/f.out" "loss is .* at step" && ok "a non-finite loss: one line, status $rc" ||
    { bad "a non-finite loss: status $rc"; cat "$tmp/f.out"; }
mpirun -q --oversubscribe -np 2 sh -c \
    'if [ "$OMPI_COMM_WORLD_RANK" = 1 ]; then c=$0.missing; else c=$0; fi; exec "$@" --corpus "$c"' \
    "$tmp/corpus.txt" "$RNNLAB" $tiny --steps 2 >"$tmp/f.out" 2>&1
rc=$?
[ $rc -ne 0 ] && only_line "$tmp/f.out" "rank 1: .*corpus.txt.missing" &&
    ok "a failure of rank 1 alone: rank 0 says it, status $rc" ||
    { bad "a failure of rank 1 alone: status $rc"; cat "$tmp/f.out"; }
# shellcheck disable=SC2086
mpi 3 $tiny --corpus "$tmp/corpus.txt" --batch 2 --steps 2 >"$tmp/f.out" 2>&1
rc=$?
[ $rc -ne 0 ] && only_line "$tmp/f.out" "batch 2 is smaller than the 3 processes" &&
    ok "fewer streams than processes: refused" || { bad "batch 2, 3 processes"; cat "$tmp/f.out"; }

# shellcheck disable=SC2086
RNNLAB_ALLREDUCE=sometimes mpi 2 $tiny --corpus "$tmp/corpus.txt" --steps 2 >"$tmp/f.out" 2>&1
rc=$?
[ $rc -ne 0 ] && only_line "$tmp/f.out" "RNNLAB_ALLREDUCE must be overlap or after" &&
    ok "RNNLAB_ALLREDUCE=sometimes: refused" || { bad "RNNLAB_ALLREDUCE=sometimes"; cat "$tmp/f.out"; }

# --- 5b. the token cache of a corpus of 8 MiB or more: built once while
# the others wait, reused; a corpus that cannot be read: the same line from
# every process, no process left waiting ---
i=0
while [ $i -lt 150 ]; do cat "$tmp/corpus.txt"; i=$((i + 1)); done >"$tmp/big.txt"
# shellcheck disable=SC2086
RNNLAB_CACHE_DIR="$tmp/cache" timeout 300 mpirun -q --oversubscribe -np 3 "$RNNLAB" $tiny \
    --corpus "$tmp/big.txt" --steps 2 >"$tmp/c.out" 2>&1
rc=$?
left=$(find "$tmp/cache" -name '.*' -type f | wc -l)
[ $rc -eq 0 ] && [ "$(find "$tmp/cache" -name '*.tok' | wc -l)" -eq 1 ] && [ "$left" -eq 0 ] &&
    ok "3 processes, a corpus of $(wc -c <"$tmp/big.txt") bytes: one token cache, no lock or temporary left" ||
    { bad "3 processes and the token cache: status $rc, $left files left"; cat "$tmp/c.out"; ls -la "$tmp/cache"; }
printf 'binary\000' >>"$tmp/big.txt"
# shellcheck disable=SC2086
RNNLAB_CACHE_DIR="$tmp/cache" timeout 300 mpirun -q --oversubscribe -np 3 "$RNNLAB" $tiny \
    --corpus "$tmp/big.txt" --steps 2 >"$tmp/c.out" 2>&1
rc=$?
# a process that found the lock taken says so first (timing decides
# whether any did); the error is the one line besides those notes
grep -v 'waiting for another process building the token cache' "$tmp/c.out" >"$tmp/c.err"
[ $rc -ne 0 ] && [ $rc -ne 124 ] && only_line "$tmp/c.err" "big.txt: looks binary" &&
    [ "$(find "$tmp/cache" -name '.*' -type f | wc -l)" -eq 0 ] &&
    ok "a binary corpus under the cache's lock: one line, status $rc" ||
    { bad "a binary corpus under the cache's lock: status $rc"; cat "$tmp/c.out"; }

# --- 6. a killed process: the job fails, the last saved session is intact ---
# shellcheck disable=SC2086
mpirun -q --oversubscribe -np 2 "$RNNLAB" $long --save "$tmp/k" --save-every 2 \
    >"$tmp/k.out" 2>&1 &
mp=$!
wait_for "$tmp/k/session.json"
sleep 1
kill -KILL "$(rank_pid $mp 1)"
wait $mp
rc=$?
if [ $rc -ne 0 ] && "$RNNLAB" eval "$tmp/k" --streams 4 >"$tmp/k.eval" 2>"$tmp/k.err"; then
    ok "rank 1 killed: status $rc, the saved session loads ($(cut -c1-30 "$tmp/k.eval"))"
else
    bad "rank 1 killed: status $rc"; cat "$tmp/k.out" "$tmp/k.eval" "$tmp/k.err"
fi

# --- 7. the other commands are refused under a launch of several ---
for cmd in repl "sample $tmp/n1"; do
    # shellcheck disable=SC2086
    mpi 2 $cmd </dev/null >"$tmp/x.out" 2>&1
    rc=$?
    [ $rc -ne 0 ] && only_line "$tmp/x.out" "only 'rnnlab train' runs as several processes" &&
        ok "mpirun rnnlab ${cmd%% *}: refused" || { bad "mpirun rnnlab $cmd: status $rc"; cat "$tmp/x.out"; }
done

# --- 8. sums on the GPUs with NCCL (RNNLAB_NCCL): the choice, and a run ---
# On the CPU, RNNLAB_NCCL=1 cannot be met and a value it does not know is
# refused: every process stops, one line, status 1.
for v in 1 maybe; do
    # shellcheck disable=SC2086
    RNNLAB_NCCL=$v mpi 2 $tiny --corpus "$tmp/corpus.txt" --device cpu --steps 2 \
        >"$tmp/g.out" 2>&1
    rc=$?
    [ $rc -eq 1 ] && only_line "$tmp/g.out" "RNNLAB_NCCL" &&
        ok "RNNLAB_NCCL=$v on the CPU: one line, status 1" ||
        { bad "RNNLAB_NCCL=$v on the CPU: status $rc"; cat "$tmp/g.out"; }
done
# shellcheck disable=SC2086
RNNLAB_NCCL=0 mpi 2 $tiny --corpus "$tmp/corpus.txt" --device cpu --steps 2 >"$tmp/g.out" 2>&1 &&
    ok "RNNLAB_NCCL=0: the host path" || { bad "RNNLAB_NCCL=0 failed"; cat "$tmp/g.out"; }
# Two processes on two GPUs summing with NCCL (forced, so that a fall back
# to host memory cannot pass for it) train one GPU process's model, with
# the sums during the backward pass and after it.  Needs a CUDA build with
# NCCL and two GPUs; otherwise says why and goes on.
gpus=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU')
if ! "$RNNLAB" --version | grep -q 'nccl=yes'; then
    echo "skip NCCL on GPUs: rnnlab was built without NCCL (configure --with-nccl in a CUDA build)"
elif [ "$gpus" -lt 2 ]; then
    echo "skip NCCL on GPUs: no GPU ($gpus found; two are needed)"
else
    # shellcheck disable=SC2086
    "$RNNLAB" $train --device cuda --steps 50 --json --save "$tmp/g1" >"$tmp/g1.json" \
        2>"$tmp/g1.err" || { bad "one GPU process"; cat "$tmp/g1.err"; }
    for mode in overlap after; do
        # shellcheck disable=SC2086
        if RNNLAB_NCCL=1 RNNLAB_ALLREDUCE=$mode mpi 2 $train --device cuda --steps 50 --json \
               --save "$tmp/g2$mode" >"$tmp/g2$mode.json" 2>"$tmp/g2.err" &&
           compare losses "$tmp/g1.json" "$tmp/g2$mode.json" 1e-5 &&
           compare weights "$tmp/g1" "$tmp/g2$mode" 1e-5; then
            ok "2 GPU processes summing with NCCL ($mode) agree with one"
        else
            bad "2 GPU processes with NCCL ($mode) differ from one or failed"; cat "$tmp/g2.err"
        fi
    done
fi

exit $fail
