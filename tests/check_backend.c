/* check_backend.c - the backend contract as the layers above use it. */

/* A device failure kept by the backend (last_error) is what the trainer
 * reports, not the NaN it causes. */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "train/trainer.h"

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
                       int V, float scale, int grad, long *correct)
{
    (void)be; (void)logits; (void)targets; (void)N; (void)V; (void)scale; (void)grad;
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

int main(void)
{
    Suite *s = suite_create("backend");
    TCase *tc = tcase_create("errors");
    tcase_add_test(tc, cpu_has_no_error);
    tcase_add_test(tc, step_reports_device_failure);
    tcase_add_test(tc, step_reports_nan_loss);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
