/* check_backend.c - the backend contract as the layers above use it. */

/* be_open chooses and refuses as documented on this machine, GPU or not;
 * a device failure kept by the backend (last_error) is what the trainer
 * reports, not the NaN it causes. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "backend/cuda/cuda_backend.h"
#include "device/open.h"
#include "train/trainer.h"

/* ------------------------------------------------------------------ */
/* be_open */

/* One line, and not empty. */
static void assert_one_line(const char *s)
{
    ck_assert_msg(s[0] != '\0' && strchr(s, '\n') == NULL, "not one line: '%s'", s);
}

START_TEST(device_names)
{
    for (int d = BE_DEVICE_AUTO; d <= BE_DEVICE_CUDA; d++)
        ck_assert_int_eq(be_device_parse(be_device_name(d)), d);
    ck_assert_int_eq(be_device_parse("gpu"), -1);
    ck_assert_int_eq(be_device_parse("CPU"), -1);
    ck_assert_int_eq(be_device_parse(NULL), -1);
    ck_assert_ptr_null(be_device_name(3));
}
END_TEST

/* Under a launcher each process of a machine takes its own GPU: its
 * local rank modulo the GPUs; 0 without a usable place or GPUs. */
START_TEST(local_gpu)
{
    ck_assert_int_eq(be_device_local_gpu(NULL, 4), 0);
    ck_assert_int_eq(be_device_local_gpu("", 4), 0);
    ck_assert_int_eq(be_device_local_gpu("0", 4), 0);
    ck_assert_int_eq(be_device_local_gpu("3", 4), 3);
    ck_assert_int_eq(be_device_local_gpu("5", 4), 1);
    ck_assert_int_eq(be_device_local_gpu("5", 1), 0);
    ck_assert_int_eq(be_device_local_gpu("2", 0), 0);
    ck_assert_int_eq(be_device_local_gpu("2x", 4), 0);
    ck_assert_int_eq(be_device_local_gpu("-1", 4), 0);
}
END_TEST

START_TEST(open_cpu)
{
    char err[256] = "";
    be_note note = {.text = "stale", .fallback = 1};
    be_backend *be = be_open("cpu", BE_FP32, &note, err, sizeof err);
    ck_assert_msg(be != NULL, "%s", err);
    ck_assert_str_eq(be->name, "cpu");
    ck_assert_str_eq(note.text, "");
    ck_assert_int_eq(note.fallback, 0);
    be->destroy(be);
    ck_assert_ptr_null(be_open("cpu", BE_BF16, NULL, err, sizeof err));
    ck_assert_str_eq(err, "precision bf16 needs a CUDA device; the CPU does fp32 only");
}
END_TEST

/* Without a usable GPU cuda is refused in one line naming the device;
 * with one it is the CUDA backend. */
START_TEST(open_cuda)
{
    char msg[256], err[256] = "";
    be_note note;
    int gpus = be_cuda_available(msg, sizeof msg);
    be_backend *be = be_open("cuda", BE_FP32, &note, err, sizeof err);
    ck_assert_str_eq(note.text, "");
    if (gpus == 0) {
        ck_assert_ptr_null(be);
        assert_one_line(err);
        ck_assert_msg(strstr(err, "CUDA device") != NULL, "names no device: %s", err);
        return;
    }
    ck_assert_msg(be != NULL, "%s", err);
    ck_assert_str_eq(be->name, "cuda");
    be->destroy(be);
}
END_TEST

/* auto takes the CPU when no GPU answers, saying why (in a build with
 * CUDA), and refuses a precision the CPU lacks, saying why too. */
START_TEST(open_auto)
{
    char msg[256], err[256] = "", want[400];
    be_note note;
    int gpus = be_cuda_available(msg, sizeof msg);
    be_backend *be = be_open("auto", BE_FP32, &note, err, sizeof err);
    ck_assert_msg(be != NULL, "%s", err);
    ck_assert_int_eq(note.fallback, 0);
    if (gpus > 0) {
        ck_assert_str_eq(be->name, "cuda");
        ck_assert_msg(strncmp(note.text, "device: cuda 0 (", 16) == 0, "%s", note.text);
        be->destroy(be);
        return;
    }
    ck_assert_str_eq(be->name, "cpu");
    snprintf(want, sizeof want, "device: cpu (no CUDA device: %s)", msg);
    ck_assert_str_eq(note.text, be_cuda_built() ? want : "");
    be->destroy(be);
    ck_assert_ptr_null(be_open("auto", BE_TF32, &note, err, sizeof err));
    snprintf(want, sizeof want, "precision tf32 needs a CUDA device (no CUDA device: %s); "
             "the CPU does fp32 only", msg);
    ck_assert_str_eq(err, want);
    ck_assert_str_eq(note.text, "");
}
END_TEST

START_TEST(open_unknown)
{
    char err[256] = "";
    ck_assert_ptr_null(be_open("gpu", BE_FP32, NULL, err, sizeof err));
    ck_assert_str_eq(err, "unknown device 'gpu' (choose auto, cpu or cuda)");
    ck_assert_ptr_null(be_open(NULL, BE_FP32, NULL, err, sizeof err));
    assert_one_line(err);
}
END_TEST

/* ------------------------------------------------------------------ */
/* A failing device, played by the CPU backend: xent gives NaN, as the
 * CUDA backend's does after a fault, and last_error says fault_text. */

static const char *fault_text;

static const char *fake_last_error(be_backend *be)
{
    (void)be;
    return fault_text;
}

static double nan_xent(be_backend *be, float *logits, const uint32_t *targets, int N,
                       int V, float scale, int grad, float smoothing, double *smoothed,
                       long *correct)
{
    (void)be; (void)logits; (void)targets; (void)N; (void)V; (void)scale; (void)grad;
    (void)smoothing;
    if (smoothed)
        *smoothed = NAN;
    if (correct)
        *correct = 0;
    return NAN;
}

static be_backend *failing_backend(const char *text)
{
    be_backend *be = be_cpu_create();
    ck_assert_ptr_nonnull(be);
    fault_text = text;
    be->xent = nan_xent;
    be->last_error = fake_last_error;
    return be;
}

/* A trainer on a few hundred bytes of one repeated line, tiny model. */
static trainer *tiny_trainer(be_backend *be)
{
    char err[256], text[600];
    corpus c;
    for (size_t i = 0; i + 20 < sizeof text; i += 20)
        memcpy(text + i, "one line, and again\n", 20);
    ck_assert_msg(corpus_from_buffer(&c, (const uint8_t *)text, 580, NULL, 0.2, 0.0, err,
                                     sizeof err) == 0, "%s", err);
    train_config cfg = train_defaults();
    cfg.model.layers = 1;
    cfg.model.hidden = 8;
    cfg.model.embed = 4;
    cfg.seq_len = 8;
    cfg.batch = 2;
    trainer *t = trainer_create(be, &cfg, &c, err, sizeof err);
    ck_assert_msg(t != NULL, "%s", err);
    return t;
}

START_TEST(cpu_has_no_error)
{
    be_backend *be = be_cpu_create();
    ck_assert_ptr_null(be->last_error(be));
    be->destroy(be);
}
END_TEST

/* The step names the device's failure, in one line, not the NaN. */
/* A mask made in parts, each placed by `first`, is the whole one's: what
 * lets processes holding a share of the streams draw the one-process
 * masks. */
START_TEST(dropout_parts_make_the_whole)
{
    be_backend *be = be_cpu_create();
    enum { N = 1000, CUT = 377 };
    float x[N], whole[N], part[N];
    for (int i = 0; i < N; i++)
        x[i] = 1.0f;
    be->dropout_fwd(be, x, whole, N, 0.25f, 99, 0);
    be->dropout_fwd(be, x, part, CUT, 0.25f, 99, 0);
    be->dropout_fwd(be, x, part + CUT, N - CUT, 0.25f, 99, CUT);
    ck_assert(memcmp(whole, part, sizeof whole) == 0);
    int kept = 0;
    for (int i = 0; i < N; i++)
        kept += whole[i] != 0.0f;
    ck_assert(kept > 650 && kept < 850);
    be->destroy(be);
}
END_TEST

START_TEST(step_reports_device_failure)
{
    char err[256];
    be_backend *be = failing_backend("cuda: xent: an illegal memory access was encountered");
    trainer *t = tiny_trainer(be);
    ck_assert_int_eq(trainer_step(t, NULL, err, sizeof err), -1);
    ck_assert_str_eq(err, "cuda: xent: an illegal memory access was encountered "
                          "(at step 1)");
    eval_result r;
    ck_assert_int_eq(trainer_eval(t, SPLIT_VAL, 1, &r, err, sizeof err), -1);
    ck_assert_str_eq(err, "cuda: xent: an illegal memory access was encountered "
                          "(in evaluation)");
    trainer_free(t);
    be->destroy(be);
}
END_TEST

/* Without a failure a NaN loss is still the learning rate's fault. */
START_TEST(step_reports_nan_loss)
{
    char err[256];
    be_backend *be = failing_backend(NULL);
    trainer *t = tiny_trainer(be);
    ck_assert_int_eq(trainer_step(t, NULL, err, sizeof err), -1);
    ck_assert_str_eq(err, "loss is NaN at step 1; lower the learning rate");
    trainer_free(t);
    be->destroy(be);
}
END_TEST

/* ------------------------------------------------------------------ */
/* copy */

/* copy between two allocations, split among threads, and within one
 * buffer: overlapping either way (memmove's result) or just adjacent.  The
 * overlap test orders no pointers into different objects (ASan's
 * pointer-compare check in tests/asan.sh). */
START_TEST(cpu_copy_overlap)
{
    enum { N = 1 << 16 };
    be_backend *be = be_cpu_create();
    be->set_threads(be, 2);
    static unsigned char want[N];
    unsigned char *a = be->alloc(be, N), *b = be->alloc(be, N);
    ck_assert(a && b);
    for (int i = 0; i < N; i++)
        a[i] = (unsigned char)(i * 7 + 1);
    be->copy(be, b, a, N);
    ck_assert(memcmp(a, b, N) == 0);
    /* forward and backward by 3 bytes, then adjacent halves */
    memcpy(want, b, N);
    memmove(want + 3, want, N - 3);
    be->copy(be, b + 3, b, N - 3);
    ck_assert(memcmp(b, want, N) == 0);
    memmove(want, want + 3, N - 3);
    be->copy(be, b, b + 3, N - 3);
    ck_assert(memcmp(b, want, N) == 0);
    memcpy(want + N / 2, want, N / 2);
    be->copy(be, b + N / 2, b, N / 2);
    ck_assert(memcmp(b, want, N) == 0);
    be->free(be, a);
    be->free(be, b);
    be->destroy(be);
}
END_TEST

/* log_softmax on rows with a stride, with and without a shift: each row's
 * columns less their log-sum-exp (worked out here in double), plus the
 * shift; the columns past V untouched.  copy_rows copies n columns of
 * each row between strides and nothing else. */
START_TEST(log_softmax_and_copy_rows)
{
    enum { N = 3, V = 5, LD = 7 };
    be_backend *be = be_cpu_create();
    float x[N * LD], y[N * LD], shift[2 * N], d[N * 4];
    for (int i = 0; i < N * LD; i++)
        x[i] = y[i] = (float)((i * 37) % 11) * 0.7f - 3.0f;
    for (int i = 0; i < 2 * N; i++)
        shift[i] = -0.25f * (float)i;
    for (int pass = 0; pass < 2; pass++) {
        memcpy(y, x, sizeof x);
        be->log_softmax(be, y, N, V, LD, pass ? shift : NULL, 2);
        for (int i = 0; i < N; i++) {
            double s = 0;
            for (int k = 0; k < V; k++)
                s += exp((double)x[i * LD + k]);
            for (int k = 0; k < LD; k++) {
                double want = k < V ? x[i * LD + k] - log(s) + (pass ? shift[2 * i] : 0.0)
                                    : x[i * LD + k];
                ck_assert_msg(fabs(y[i * LD + k] - want) < 1e-5, "pass %d row %d col %d: "
                              "%g, not %g", pass, i, k, (double)y[i * LD + k], want);
            }
        }
    }
    for (int i = 0; i < N * 4; i++)
        d[i] = -1.0f;
    be->copy_rows(be, d, 4, x + 1, LD, N, 3);
    for (int i = 0; i < N; i++)
        for (int k = 0; k < 4; k++)
            ck_assert_float_eq(d[i * 4 + k], k < 3 ? x[i * LD + 1 + k] : -1.0f);
    be->destroy(be);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("backend");
    TCase *op = tcase_create("be_open");
    tcase_add_test(op, device_names);
    tcase_add_test(op, local_gpu);
    tcase_add_test(op, open_cpu);
    tcase_add_test(op, open_cuda);
    tcase_add_test(op, open_auto);
    tcase_add_test(op, open_unknown);
    suite_add_tcase(s, op);
    TCase *tc = tcase_create("errors");
    tcase_add_test(tc, cpu_has_no_error);
    tcase_add_test(tc, dropout_parts_make_the_whole);
    tcase_add_test(tc, step_reports_device_failure);
    tcase_add_test(tc, step_reports_nan_loss);
    suite_add_tcase(s, tc);
    TCase *mem = tcase_create("copy");
    tcase_add_test(mem, cpu_copy_overlap);
    tcase_add_test(mem, log_softmax_and_copy_rows);
    suite_add_tcase(s, mem);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
