#!/bin/sh
# seeds.sh - fills the fuzz harnesses' seed corpora from the project's own files: the sessions of a small `rnnlab train` and of the session harness, the command scripts of tests/repl.sh, the texts of tests/data and data/, the request bodies of tests/serve.sh.
#
#   sh fuzz/seeds.sh TOP_SRCDIR CORPUS_DIR RNNLAB HARNESS_DIR
#
# Each harness gets CORPUS_DIR/NAME/; a seed is named by its SHA-1, as
# libFuzzer names what it adds, so running this again adds nothing twice.
# Nothing here is committed: the inputs are made from the tree each time.

set -eu

if [ $# -ne 4 ]; then
    echo "usage: sh fuzz/seeds.sh TOP_SRCDIR CORPUS_DIR RNNLAB HARNESS_DIR" >&2
    exit 2
fi
srcdir=$1 out=$2 rnnlab=$3 bin=$4
data=$srcdir/tests/data

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rnnlab-seeds.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

for h in safetensors session_json session_files cmd text tok serve embfile; do
    mkdir -p "$out/$h"
done

# seed HARNESS FILE [PREFIX]: adds FILE to the harness's corpus, after the
# bytes PREFIX (a printf format) when given.
seed() {
    printf "${3:-}" >"$tmp/seed"
    cat "$2" >>"$tmp/seed"
    sum=$(sha1sum <"$tmp/seed" | cut -c1-40)
    cp "$tmp/seed" "$out/$1/$sum"
}

# seed_text HARNESS TEXT: adds the string TEXT (a printf format).
seed_text() {
    printf "$2" >"$tmp/text"
    seed "$1" "$tmp/text"
}

# ---- sessions: the session harnesses' own model (session_base.c dumps it)
# and the same model from `rnnlab train`, whose session.json then opens
# against the harness's files; a GRU with a tied decoder beside them.
RNNLAB_FUZZ_DUMP=$tmp/base "$bin/fuzz_session_json" -runs=0 >"$tmp/log" 2>&1 || {
    cat "$tmp/log" >&2
    exit 1
}
train() {
    dir=$1
    shift
    "$rnnlab" train --corpus "$data/garden.txt" --layers 1 --seq-len 8 --batch 2 \
        --threads 1 --device cpu --steps 3 --eval-every 2 --quiet --save "$tmp/$dir" "$@" \
        >"$tmp/log" 2>&1 || {
        cat "$tmp/log" >&2
        exit 1
    }
}
train lstm --model lstm --hidden 8 --embed 4 --seed 1
train gru --model gru --hidden 8 --tie --optimizer sgd --momentum 0.9 --seed 2
train word --model gru --hidden 8 --tokens word --lowercase --seed 3
train bpe --model gru --hidden 8 --tokens bpe --bpe-vocab 300 --seed 4

for s in base lstm gru; do
    seed session_json "$tmp/$s/session.json"
    for f in model optimizer; do
        seed safetensors "$tmp/$s/$f.safetensors"
    done
    seed session_files "$tmp/$s/model.safetensors" '\000'
    seed session_files "$tmp/$s/optimizer.safetensors" '\001'
done

# Small safetensors files: no tensors, metadata only, one scalar.
seed_text safetensors '\002\000\000\000\000\000\000\000{}'
seed_text safetensors '\040\000\000\000\000\000\000\000{"__metadata__":{"format":"pt"}}'
seed_text safetensors '\070\000\000\000\000\000\000\000{"x":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}    \000\000\200\077'

# ---- commands: each script of tests/repl.sh, after the scene byte of
# fuzz/cmd.c (0x0f: a model trained, unsaved changes, questions answered
# yes).
awk -v dir="$tmp" '
    /^script [A-Za-z0-9_]+ <<.?EOF.?$/ { file = dir "/cmd-" $2; printf "" > file; next }
    file != "" && /^EOF$/ { close(file); file = ""; next }
    file != "" { print > file }
' "$srcdir/tests/repl.sh"
for f in "$tmp"/cmd-*; do
    [ -f "$f" ] && seed cmd "$f" '\017'
done
seed_text cmd '\217help set\nshow lr\nset sample-every 30s\nprime "a\\tb \\"c\\""\n'
seed_text cmd "\\001model lstm layers=2 hidden=64 embed=32 dropout=0.2 tie=off\\ntrain epochs=0.5\\nsave 'my plays'\\n# done\\n"

# ---- texts: a split byte and a vocabulary byte (fuzz/text.c), then the
# text; UTF-8 of every length, stray bytes; a vocabulary as JSON.
for f in "$data"/*.txt; do
    seed text "$f" '\022\200'
done
head -c 4096 "$srcdir/data/tiny-plays.txt" >"$tmp/plays"
seed text "$tmp/plays" '\001\377'
seed_text text '\000\100caf\303\251 \342\202\254 \360\237\230\200 \377\300\200 \355\240\200 end\n'
seed_text text '{"kind":"char","tokens":["a","\\u00e9",{"byte":0},{"byte":255}]}'

# ---- tars (fuzz/untar.c): a byte saying one piece size follows, that
# size, then the archive: the small sessions as uploads send them.
mkdir -p "$out/untar"
for s in lstm gru; do
    tar -C "$tmp/$s" -cf "$tmp/$s.tar" session.json model.safetensors
    seed untar "$tmp/$s.tar" '\000\011'
done
tar -C "$tmp/base" --format=posix -cf "$tmp/pax.tar" .
seed untar "$tmp/pax.tar" '\001\003\100'

# ---- vector files: the test files of each format, after a format byte
# (0 auto, 1 bin, 2 vec, 3 glove; +4 folds case) and a buffer byte
# (fuzz/embfile.c).
seed embfile "$data/emb-small.vec" '\004\000'
seed embfile "$data/emb-small.glove" '\003\001'
seed embfile "$data/emb-small.bin" '\001\377'
seed embfile "$data/emb-small.bin" '\004\002'
seed_text embfile '\000\000the 1 2\r\n. . . 3 4\n'

# ---- word and BPE tokenizers: an options byte, a size byte and a cut
# byte (fuzz/tok.c), then the text; the session.json of a word and of a
# BPE session, whose "tokenizer" the harness loads.
for f in "$data"/*.txt; do
    seed tok "$f" '\000\000\200'
    seed tok "$f" '\001\020\200'
done
seed tok "$tmp/plays" '\016\010\100'
seed tok "$tmp/plays" '\001\100\300'
seed_text tok '\000\000\000<unk> a <eos> b\r\n\n\tc\377 \303\251t\303\251 A1 a\n'
seed_text tok '\001\000\177x  y (z) 42 \342\202\254\n\n  \t\n'
for s in word bpe; do
    seed tok "$tmp/$s/session.json"
    seed session_json "$tmp/$s/session.json"
done

# ---- request bodies of rnnlab serve: those tests/serve.sh posts, after
# the byte of fuzz/serve.c (bit 0: /v1/generate; bit 1: two models).
awk -v dir="$tmp" '
    /^post \/v1\/(completions|generate) \x27/ {
        api = $2 ~ /generate/ ? "generate" : "completions"
        body = substr($0, index($0, "\x27") + 1)
        while (index(body, "\x27") == 0 && (getline line) > 0)
            body = body "\n" line
        n++
        printf "%s", substr(body, 1, index(body, "\x27") - 1) > (dir "/req-" api "-" n)
        close(dir "/req-" api "-" n)
    }
' "$srcdir/tests/serve.sh"
for f in "$tmp"/req-completions-*; do
    [ -f "$f" ] && seed serve "$f" '\000' && seed serve "$f" '\002'
done
for f in "$tmp"/req-generate-*; do
    [ -f "$f" ] && seed serve "$f" '\001' && seed serve "$f" '\003'
done
seed_text serve '\000{"model":"garden","prompt":["x"],"stop":["a","b","c","d"],"logprobs":5,"n":8,"seed":"18446744073709551615","user":"u","echo":false,"best_of":1,"logit_bias":{},"suffix":null}'
seed_text serve '\003{"model":"plays","prime":null,"beam":4,"n_best":4,"greedy":true,"top_k":0,"top_p":0.9,"repetition_window":0}'
