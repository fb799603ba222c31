/* dist.h - the processes of a data-parallel run: started by mpirun they
 * train one model together, each on its share of the streams; otherwise
 * there is one.  The only code that speaks MPI is dist_mpi.c; a build
 * without MPI gets dist_none.c, always a run of one.
 *
 * The calls marked collective must be made by every process, in the same
 * order, from the thread that called dist_init.  Each call returns 0, or
 * -1 when MPI reported a failure (Open MPI usually ends the whole job
 * first).  Nothing here prints. */
#ifndef DIST_DIST_H
#define DIST_DIST_H
#include <stddef.h>

#include "backend/backend.h"

/* How many processes a launcher (mpirun, srun) says it started, from the
 * environment (OMPI_COMM_WORLD_SIZE, else PMI_SIZE); 0 when none did.
 * Works before dist_init and in any build. */
int dist_launched(void);

/* This process's rank as the launcher's environment gives it
 * (OMPI_COMM_WORLD_RANK, else PMI_RANK); 0 when none does.  For a process
 * that cannot join (no MPI) to know whether it is the one to speak. */
int dist_launched_rank(void);

/* Whether this build trains under mpirun (1: built with MPI) or not (0). */
int dist_built(void);

/* Joins the run: MPI is started when a launcher started this process
 * (dist_launched() > 0), else this is a run of one.  Returns 0, or -1
 * with a one-line message: MPI failed to start, or this build has no MPI
 * and the launcher started several processes. */
int dist_init(char *err, size_t errlen);
/* Leaves the run (collective); a no-op when dist_init started nothing. */
void dist_finalize(void);

/* This process's rank, 0 .. dist_size() - 1, and the number of them
 * (0 and 1 before dist_init and in a run of one). */
int dist_rank(void);
int dist_size(void);

/* Collective: x[0..n) becomes the sum over the processes of their x, the
 * same bits on every process. */
int dist_sum_float(float *x, size_t n);
int dist_sum_double(double *x, size_t n);
/* Sums in flight, for summing the gradients while the backward pass goes
 * on.  dist_flight_sum starts x[0..n) becoming the sum over the processes
 * (collective: every process starts the same sums, of the same sizes, in
 * the same order); x must not be touched until dist_flight_wait, which
 * finishes every sum started.  MPI moves a sum along only inside MPI
 * calls (Open MPI has no progress thread): dist_flight_poke, cheap, is
 * for calling often meanwhile.  Each returns 0, or -1 when MPI failed;
 * alone they do nothing.  dist_flight_new returns NULL when out of
 * memory. */
typedef struct dist_flight dist_flight;
dist_flight *dist_flight_new(void);
void dist_flight_free(dist_flight *f);
int dist_flight_sum(dist_flight *f, float *x, size_t n);
int dist_flight_poke(dist_flight *f);
int dist_flight_wait(dist_flight *f);

/* Collective: the root's bytes at buf are copied to every process's. */
int dist_bcast(void *buf, size_t bytes, int root);
/* Collective: the root's all gets every process's `bytes` at mine, in
 * rank order (each process may give another size); all is only read on
 * the root.  -1 also when the whole exceeds 2 GiB. */
int dist_gather(const void *mine, size_t bytes, void *all, int root);
/* Collective: the lowest rank that passed yes != 0, or -1 when none did. */
int dist_lowest(int yes);

/* Collective: x[0..n) summed over the processes (n <= DIST_SUM_MAX) and,
 * in the same reduction, whether any failed: then -1 as dist_agree says,
 * x summed all the same.  Alone: -1 when failed, err untouched. */
#define DIST_SUM_MAX 15
int dist_sum_agree(double *x, int n, int failed, char *err, size_t errlen);

/* Rank `rank`'s share of count items cut into `size` contiguous parts as
 * even as can be (the first count % size parts one larger): items
 * *first .. *first + *n - 1. */
void dist_part(long count, int rank, int size, long *first, long *n);

/* Collective: whether any process failed.  Returns 0 when none did, else
 * -1 on every process, each with the message (errlen bytes, the same on
 * all) of the lowest failing rank in err, prefixed "rank K: " when K > 0.
 * In a run of one: -1 when failed, err untouched. */
int dist_agree(int failed, char *err, size_t errlen);

/* --- sums of device buffers (dist_device.c) --- */

/* How the processes sum a backend's buffers: through host memory with MPI
 * (the CPU's buffers as they are, a GPU's copied), or device to device
 * with the backend's coll_* operations (NCCL), MPI only handing out the
 * communicator's id. */
typedef enum { DIST_SUM_HOST = 0, DIST_SUM_DEVICE = 1 } dist_sum_path;

/* The environment variable that chooses: unset, "" or "auto" the device
 * when every process can, "0" host memory always, "1" the device or fail. */
#define DIST_NCCL_ENV "RNNLAB_NCCL"

/* What this process asks for, from whether its backend has the coll_*
 * operations and env (DIST_NCCL_ENV's value, or NULL): DIST_SUM_DEVICE
 * or DIST_SUM_HOST; *forced = 1 when env is "1".  -1 with a message when
 * env holds something else, or "1" and the backend has no such sums. */
int dist_sum_wish(const be_backend *be, const char *env, int *forced, char *err,
                  size_t errlen);
/* The run's path from every process's wish: DIST_SUM_DEVICE when none
 * asked for the host; -1 with a message when one forced the device and
 * another cannot (any_host: a process asked for the host, any_forced: one
 * forced the device). */
int dist_sum_settle(int any_host, int any_forced, char *err, size_t errlen);

/* Collective: settles the path of be's sums over the processes (reading
 * DIST_NCCL_ENV); for the device, rank 0's new communicator id goes to all
 * and every backend joins it.  Returns the path (DIST_SUM_HOST alone), -1
 * on every process with the same message (agreed), or -2 when joining
 * failed here: the others may wait for this process inside NCCL forever,
 * so the caller says err and ends the run (dist_abort). */
int dist_sum_start(be_backend *be, char *err, size_t errlen);

/* Ends every process of the run with status (the launcher reports it);
 * a run of one simply exits. */
_Noreturn void dist_abort(int status);

#endif
