/* trainer_embed.c - a new model's embedding from pretrained vectors: the
 * encoder's rows come to the host, the tokens found in the file take its
 * vectors (text/emb_match.c), and the rows go back. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/trainer.h"

emb_file *trainer_embed_open(const train_config *cfg, char *err, size_t errlen)
{
    return emb_open(cfg->embed_init, (emb_format)cfg->embed_format, 0, err, errlen);
}

int trainer_embed_init(trainer *t, emb_file *f, emb_report *rep, char *err,
                       size_t errlen)
{
    model *m = t->m;
    const model_tensor *enc = &m->tensors[0];
    if (emb_dim(f) != m->cfg.embed) {
        snprintf(err, errlen, "%s: vectors of %d values, but the embedding size is %d",
                 emb_name(f), emb_dim(f), m->cfg.embed);
        return -1;
    }
    float *rows = malloc(enc->numel ? enc->numel * sizeof(float) : 1);
    if (!rows) {
        snprintf(err, errlen, "out of memory for the embedding's %zu values", enc->numel);
        return -1;
    }
    m->be->download(m->be, rows, m->enc, enc->numel * sizeof(float));
    int rc = emb_fill(f, t->corp.vocab, t->cfg.embed_lower, rows, rep, err, errlen);
    if (rc == 0)
        m->be->upload(m->be, m->enc, rows, enc->numel * sizeof(float));
    free(rows);
    return rc;
}

/* 12345 -> "12,345". */
static const char *grouped(uint64_t v, char buf[32])
{
    char digits[24];
    size_t n = (size_t)snprintf(digits, sizeof digits, "%llu", (unsigned long long)v), o = 0;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && (n - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = digits[i];
    }
    buf[o] = '\0';
    return buf;
}

void trainer_embed_summary(const emb_report *rep, const char *path, char *buf,
                           size_t len)
{
    char a[32], b[32], c[32];
    size_t o = (size_t)snprintf(buf, len, "embed-init: %s of %s tokens (%.1f%%) from %s",
                                grouped(rep->found, a), grouped(rep->tokens, b),
                                rep->tokens ? 100.0 * rep->found / rep->tokens : 0.0,
                                path);
    if (o < len && rep->folded)
        o += (size_t)snprintf(buf + o, len - o, " (%s ignoring case)", grouped(rep->folded, c));
    if (o < len)
        o += (size_t)snprintf(buf + o, len - o, "; the rest random");
    if (o < len && rep->duplicates)
        snprintf(buf + o, len - o, "; %s word%s met again %s skipped (the first: %s)",
                 grouped(rep->duplicates, c), rep->duplicates == 1 ? "" : "s",
                 rep->duplicates == 1 ? "was" : "were", rep->first_duplicate);
}
