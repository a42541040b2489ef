/*
 * san_keep_modules.c — linked into the sanitizer build only (make SAN=1).
 *
 * dlclose() that keeps the library loaded. Open MPI and PMIx unload their
 * plugins at MPI_Finalize; the leak reports LeakSanitizer prints at exit
 * then name "<unknown module>" for whatever those plugins allocated, and no
 * suppression can tell their leaks from ours. With the plugins still
 * mapped, every frame has its library's name and tests/lib/lsan.supp can
 * suppress exactly Open MPI's, PMIx's and hwloc's own allocations.
 *
 * MPI_Init_thread and MPI_Finalize with LeakSanitizer off in the calling
 * thread (the link wraps them: -Wl,--wrap). What Open MPI allocates there
 * and keeps past exit (its operators, hwloc bitmaps, PMIx strings: 19
 * blocks a process) is then not a leak to report, so a run ends with no
 * leak at all and LeakSanitizer symbolizes nothing. Matching those blocks
 * against lsan.supp instead made it symbolize their stacks, which pass
 * through glibc's asprintf: with glibc's debug info installed (libc6-dbg),
 * libbacktrace inflates it in every process, 0.17-0.25 s of each run's
 * exit and about a third of the sanitizer pass (test_ckpt 62 s -> 39 s).
 * Only these two calls, only this thread: zeropt's own allocations are
 * checked as before.
 *
 * The same for PMIx's progress thread, which MPI_Init starts and which
 * keeps a value it fetched for MPI (32 bytes, pmix_hash_fetch): threads
 * whose start routine lies in libpmix run with LeakSanitizer off
 * (pthread_create is interposed: exported from the executable, it calls
 * the sanitizer's own through RTLD_NEXT). No thread of zeropt's, of
 * OpenMP's or of the BLAS's is touched. lsan.supp stays for what is left.
 */
#include <dlfcn.h>
#include <mpi.h>
#include <pthread.h>
#include <sanitizer/lsan_interface.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dlclose(void *handle);

int dlclose(void *handle) {
    (void)handle;
    return 0;
}

int __real_MPI_Init_thread(int *argc, char ***argv, int required, int *provided);
int __wrap_MPI_Init_thread(int *argc, char ***argv, int required, int *provided);
int __real_MPI_Finalize(void);
int __wrap_MPI_Finalize(void);

int __wrap_MPI_Init_thread(int *argc, char ***argv, int required, int *provided) {
    __lsan_disable();
    int rc = __real_MPI_Init_thread(argc, argv, required, provided);
    __lsan_enable();
    return rc;
}

int __wrap_MPI_Finalize(void) {
    __lsan_disable();
    int rc = __real_MPI_Finalize();
    __lsan_enable();
    return rc;
}

typedef int (*create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
typedef struct {
    void *(*fn)(void *);
    void *arg;
} Quiet;

static void *quiet_start(void *p) {
    Quiet q = *(Quiet *)p;
    free(p);
    __lsan_disable(); /* this thread's allocations only */
    return q.fn(q.arg);
}

int pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg) {
    static create_fn real_create; /* the sanitizer's pthread_create, found at first use */
    create_fn real = __atomic_load_n(&real_create, __ATOMIC_ACQUIRE);
    if (!real) {
        *(void **)&real = dlsym(RTLD_NEXT, "pthread_create");
        if (!real) {
            fputs("san_keep_modules: no pthread_create after the executable's\n", stderr);
            abort();
        }
        __atomic_store_n(&real_create, real, __ATOMIC_RELEASE);
    }
    Dl_info info;
    Quiet *q;
    if (dladdr(*(void **)&fn, &info) && info.dli_fname && strstr(info.dli_fname, "/libpmix.") &&
        (q = malloc(sizeof *q))) {
        q->fn = fn, q->arg = arg;
        int rc = real(t, attr, quiet_start, q);
        if (rc) free(q);
        return rc;
    }
    return real(t, attr, fn, arg);
}
