#!/bin/sh
# layout.sh - checks that the #includes of src/ keep the layer order, resolve from src/ and make no cycle.
#
# Each folder of src/ belongs to a layer (its first path component); the
# layers are ranked in $layers, lowest first.  A file may include headers of
# its own layer and of lower ones, never of a higher layer or of another
# layer of the same rank; two folders of one layer that are not one inside
# the other (backend/cpu, backend/cuda) may not include each other.  An
# include is written from src/ ("model/model.h") and must name a file
# there: no "../", no name that works only next to the including file or
# through another -I.  No cycle is allowed, neither between files (x.c and
# x.h are one node, "x") nor between folders.
#
#   tests/layout.sh              the self-test, then src/ (what make check runs)
#   tests/layout.sh --self-test  plants faults in a copy of src/, expects each named
#   tests/layout.sh --check DIR  checks the tree DIR (a src/ folder) only
#
# Exit status: 0 clean, 1 problems found (each printed with file:line),
# 2 bad usage.

# The layers, lowest first: one rank a line; names on one line share a rank.
layers='
util
backend
device
text
model
dist
train
decode
store
engine
ui serve
cli
'

set -u

# check_tree DIR: checks the tree DIR; prints the problems, or one summary
# line when there are none.  Returns 0 when clean, 1 otherwise.
check_tree() {
    dir=$1
    if [ ! -d "$dir" ]; then
        echo "layout.sh: $dir: no such folder"
        return 1
    fi
    order=$(printf '%s\n' "$layers" | tr '\n' ';')
    (
        cd "$dir" || exit 1
        # D folder, F file (all files: what an include may resolve to), then
        # I file:line:text for every #include of a source file, in order.
        find . -name '.?*' -prune -o -type d -print | sed -n 's|^\./\(..*\)|D \1|p'
        find . -name '.?*' -prune -o -type f -print | sed 's|^\./|F |'
        find . -name '.?*' -prune -o -type f \( -name '*.c' -o -name '*.h' -o -name '*.cu' \) \
            -exec grep -Hn -E '^[[:space:]]*#[[:space:]]*include[[:space:]]*["<]' {} + |
            sed 's|^\./||' | LC_ALL=C sort -t: -k1,1 -k2,2n | sed 's|^|I |'
    ) | awk -v order="$order" '
function problem(msg) { print msg; nproblems++ }
function first(p,    i) { i = index(p, "/"); return i ? substr(p, 1, i - 1) : p }
function folder(p) { if (p !~ /\//) return "."; sub(/\/[^\/]*$/, "", p); return p }
function node(p) { sub(/\.(c|h|cu)$/, "", p); return p }
function within(outer, inner) { return substr(inner, 1, length(outer) + 1) == outer "/" }

# edge(G, A, B, WHY): A includes B in graph G ("f" files, "d" folders); WHY
# is the first include that says so.
function edge(g, a, b, why) {
    if (a == b || ((g, a, b) in because))
        return
    because[g, a, b] = why
    adj[g, a, ++nadj[g, a]] = b
    if (!((g, a) in seen)) {
        seen[g, a] = 1
        roots[g, ++nroots[g]] = a
    }
}

# Depth first; an edge back to a node on the stack closes a cycle.
function dfs(g, u,    i, v) {
    color[g, u] = 1
    stack[++sp] = u
    at[g, u] = sp
    for (i = 1; i <= nadj[g, u]; i++) {
        v = adj[g, u, i]
        if (color[g, v] == 1)
            cycle(g, at[g, v])
        else if (!color[g, v])
            dfs(g, v)
    }
    sp--
    color[g, u] = 2
}

# cycle(G, FROM): the nodes stack[FROM..sp] and back, printed from the
# smallest name so that a cycle always reads the same, with its includes.
function cycle(g, from,    k, m, j, a, b, path, why) {
    k = sp - from + 1
    m = from
    for (j = from; j <= sp; j++)
        if (stack[j] < stack[m])
            m = j
    path = stack[m]
    why = ""
    for (j = 1; j <= k; j++) {
        a = stack[from + (m - from + j - 1) % k]
        b = stack[from + (m - from + j) % k]
        path = path " -> " b
        why = why "\n    " because[g, a, b]
    }
    problem((g == "f" ? "cycle between files: " : "cycle between folders: ") path why)
}

BEGIN {
    n = split(order, line, ";")
    for (i = 1; i <= n; i++) {
        if (split(line[i], names, " ") == 0)
            continue
        rank++
        for (j = 1; j in names; j++) {
            if (names[j] in rank_of)
                problem("tests/layout.sh: layer " names[j] " is in the order twice")
            rank_of[names[j]] = rank
            layer[++nlayers] = names[j]
        }
    }
}

$1 == "D" {
    d = substr($0, 3)
    top = first(d)
    has_folder[top] = 1
    if (!(top in rank_of) && !(top in told)) {
        told[top] = 1
        problem("src/" top "/: folder is in no layer (add it to the order in tests/layout.sh)")
    }
    next
}

$1 == "F" {
    f = substr($0, 3)
    exists[f] = 1
    if (f ~ /\.(c|h|cu)$/) {
        nfiles++
        if (f !~ /\//)
            problem("src/" f ": source file in no layer folder")
    }
    next
}

$1 == "I" {
    rest = substr($0, 3)
    i = index(rest, ":")
    file = substr(rest, 1, i - 1)
    rest = substr(rest, i + 1)
    i = index(rest, ":")
    where = "src/" file ":" substr(rest, 1, i - 1)
    text = substr(rest, i + 1)
    if (text ~ /#[[:space:]]*include[[:space:]]*</) {
        if (match(text, /<[^>]*>/) && (substr(text, RSTART + 1, RLENGTH - 2) in exists))
            problem(where ": #include " substr(text, RSTART, RLENGTH) ": a header of src/; include it with quotes")
        next
    }
    if (!match(text, /"[^"]*"/))
        next
    inc = substr(text, RSTART + 1, RLENGTH - 2)
    nincludes++
    shown = where ": #include \"" inc "\""
    if (inc ~ /^\// || ("/" inc "/") ~ /\/\.\.?\//) {
        problem(shown ": not written from src/ (a relative or absolute path)")
        next
    }
    if (!(inc in exists)) {
        if ((folder(file) "/" inc) in exists)
            problem(shown ": found only next to the including file; write \"" folder(file) "/" inc "\"")
        else
            problem(shown ": no such file under src/ (includes are written from src/)")
        next
    }
    fl = first(file)
    il = first(inc)
    if (!(fl in rank_of) || !(il in rank_of))
        next            # the folder is reported already
    if (rank_of[il] > rank_of[fl])
        problem(shown ": " fl " may not include " il ", a higher layer")
    else if (fl != il && rank_of[il] == rank_of[fl])
        problem(shown ": " fl " and " il " share a rank and may not include each other")
    fd = folder(file)
    id = folder(inc)
    if (fl == il && fd != id && !within(fd, id) && !within(id, fd))
        problem(shown ": " fd "/ and " id "/ are separate folders of " fl "/ and may not include each other")
    edge("f", node(file), node(inc), shown)
    edge("d", fd, id, shown)
    next
}

END {
    for (i = 1; i <= nlayers; i++)
        if (!(layer[i] in has_folder))
            problem("tests/layout.sh: layer " layer[i] " has no folder src/" layer[i] "/")
    for (i = 1; i <= nroots["f"]; i++)
        if (!color["f", roots["f", i]])
            dfs("f", roots["f", i])
    for (i = 1; i <= nroots["d"]; i++)
        if (!color["d", roots["d", i]])
            dfs("d", roots["d", i])
    if (nproblems) {
        printf "layout.sh: %d problem%s (%d files, %d includes checked)\n",
            nproblems, nproblems == 1 ? "" : "s", nfiles, nincludes
        exit 1
    }
    printf "layout.sh: src/ keeps the layer order: %d files, %d includes checked, no cycles\n",
        nfiles, nincludes
}'
}

# The src/ folder next to this script, else under $srcdir.
find_src() {
    here=$(dirname "$0")
    if [ -d "$here/../src" ]; then
        echo "$here/../src"
    elif [ -n "${srcdir:-}" ] && [ -d "$srcdir/src" ]; then
        echo "$srcdir/src"
    else
        return 1
    fi
}

# plant FILE LINE...: writes the lines to FILE in the copy under test.
plant() {
    f=$tmp/src/$1
    shift
    mkdir -p "$(dirname "$f")"
    printf '%s\n' "$@" >"$f"
}

# fresh: the copy under test is the pristine copy of src/ again.
fresh() {
    rm -rf "$tmp/src"
    cp -R "$tmp/base" "$tmp/src"
}

# expect WHAT TEXT...: checking the copy fails and prints every TEXT (each
# a fixed string); says which lines did.
expect() {
    what=$1
    shift
    out=$(check_tree "$tmp/src")
    rc=$?
    missing=
    for want in "$@"; do
        printf '%s\n' "$out" | grep -qF -e "$want" || missing="$missing
    $want"
    done
    if [ "$rc" -eq 1 ] && [ -z "$missing" ]; then
        echo "ok   $what:"
        for want in "$@"; do
            printf '%s\n' "$out" | grep -F -e "$want" | head -n 1 | sed 's/^ */    /'
        done
    else
        status=
        [ "$rc" -eq 1 ] || status=" exit status $rc, not 1;"
        echo "FAIL $what:$status${missing:+ not printed:$missing}"
        printf '%s\n' "$out" | sed 's/^/    | /'
        self_fail=1
    fi
}

self_test() {
    src=$(find_src) || {
        echo "layout.sh: self-test: cannot find src/ (next to tests/, or \$srcdir/src)"
        return 1
    }
    tmp=$(mktemp -d "${TMPDIR:-/tmp}/rnnlab-layout.XXXXXX") || {
        echo "layout.sh: self-test: cannot make a temporary folder"
        return 1
    }
    trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
    trap 'exit 1' HUP INT PIPE TERM
    # The sources only (no build outputs), writable even from a read-only
    # distribution tree.
    mkdir "$tmp/base" &&
        (cd "$src" && find . -name '.?*' -prune -o -type f \
            \( -name '*.c' -o -name '*.h' -o -name '*.cu' \) -print | tar -cf - -T -) |
        (cd "$tmp/base" && tar -xf -) &&
        chmod -R u+w "$tmp/base" || {
        echo "layout.sh: self-test: cannot copy $src to $tmp"
        return 1
    }
    self_fail=0
    echo "layout.sh: self-test: faults planted in a copy of src/ must be found"

    fresh
    plant util/layout_up.c '/* planted: an include of a higher layer */' '#include <stddef.h>' \
        '#include "engine/engine.h"'
    expect "upward include" \
        'src/util/layout_up.c:3: #include "engine/engine.h": util may not include engine, a higher layer'

    fresh
    plant util/layout_a.h '/* planted: half of a cycle */' '#include "util/layout_b.h"'
    plant util/layout_a.c '#include "util/layout_a.h"'
    plant util/layout_b.h '/* planted */'
    plant util/layout_b.c '/* planted: the other half */' '#include "util/layout_b.h"' \
        '#include "util/layout_a.h"'
    expect "cycle between two files of one folder" \
        'cycle between files: util/layout_a -> util/layout_b -> util/layout_a' \
        'src/util/layout_a.h:2: #include "util/layout_b.h"' \
        'src/util/layout_b.c:3: #include "util/layout_a.h"'

    fresh
    plant backend/layout_p.h '#include "backend/cpu/layout_q.h"'
    plant backend/cpu/layout_q.h '/* planted */'
    plant backend/cpu/layout_r.c '#include "backend/layout_s.h"'
    plant backend/layout_s.h '/* planted */'
    expect "cycle between folders" \
        'cycle between folders: backend -> backend/cpu -> backend' \
        '    src/backend/layout_p.h:1: #include "backend/cpu/layout_q.h"'

    fresh
    plant backend/cpu/layout_x.c '/* planted */' '#include "backend/cuda/layout_y.h"'
    plant backend/cuda/layout_y.h '/* planted */'
    expect "cpu and cuda backends include each other" \
        'src/backend/cpu/layout_x.c:2: #include "backend/cuda/layout_y.h": backend/cpu/ and backend/cuda/ are separate folders of backend/'

    fresh
    plant util/layout_rel.c '#include "../util/layout_rel.h"' '#include "layout_rel.h"' \
        '#include "util/layout_none.h"' '#include <util/layout_rel.h>'
    plant util/layout_rel.h '/* planted */'
    expect "includes that do not resolve from src/" \
        'src/util/layout_rel.c:1: #include "../util/layout_rel.h": not written from src/' \
        'src/util/layout_rel.c:2: #include "layout_rel.h": found only next to the including file' \
        'src/util/layout_rel.c:3: #include "util/layout_none.h": no such file under src/' \
        'src/util/layout_rel.c:4: #include <util/layout_rel.h>: a header of src/; include it with quotes'

    fresh
    plant layout_extra/x.c '/* planted: a folder outside the order */'
    expect "folder in no layer" 'src/layout_extra/: folder is in no layer'

    # A tree that keeps the order: one header a layer, each including the
    # header of the layer below it.
    rm -rf "$tmp/src"
    printf '%s\n' "$layers" | {
        below=
        while read -r rank; do
            [ -n "$rank" ] || continue
            for name in $rank; do
                if [ -n "$below" ]; then
                    plant "$name/$name.h" "/* $name */" "#include \"$below/$below.h\""
                else
                    plant "$name/$name.h" "/* $name */"
                fi
            done
            below=${rank%% *}
        done
    }
    out=$(check_tree "$tmp/src")
    if [ $? -eq 0 ]; then
        echo "ok   a tree that keeps the order: $out"
    else
        echo "FAIL a tree that keeps the order is refused:"
        printf '%s\n' "$out" | sed 's/^/    | /'
        self_fail=1
    fi
    return "$self_fail"
}

case ${1:-} in
--check)
    [ $# -eq 2 ] || { echo "usage: layout.sh --check DIR"; exit 2; }
    check_tree "$2"
    ;;
--self-test)
    self_test
    ;;
'')
    self_test
    st=$?
    src=$(find_src) || { echo "layout.sh: cannot find src/ (next to tests/, or \$srcdir/src)"; exit 1; }
    check_tree "$src" || exit 1
    exit "$st"
    ;;
*)
    echo "usage: layout.sh [--self-test | --check DIR]"
    exit 2
    ;;
esac
