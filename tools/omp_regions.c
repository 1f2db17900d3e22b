// omp_regions: where a multi-threaded run loses time, region by OpenMP region.
//
// Preloaded into a program built with gcc's OpenMP (LD_PRELOAD; tools/omp_regions.sh does it),
// it wraps every top-level GOMP_parallel call (the only entry point gcc emits for the
// `parallel` and `parallel for schedule(static)` regions tapir uses) and records, per outlined
// region function: its calls, its wall time (fork to join, on the calling thread), each thread's
// busy time inside the region body, how late the other threads started after the fork, and the
// time the calling thread spent outside any region just before it (serial work: ops below their
// parallel grain, the tape, allocation). At exit it writes one line per region function to
// $TAPIR_REGIONS_OUT (tab-separated; tools/omp_regions.py turns it into a report).
//
// Sampling profilers see a thread waiting at a barrier but not why; on a virtual machine their
// interrupts also slowed the 2-thread training step by a fifth at 10 kHz. This costs two clock
// reads per thread per region (regions last tens of microseconds and more).
#define _GNU_SOURCE
#include <dlfcn.h>
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { kMaxFunctions = 4096, kMaxThreads = 256 };

typedef void (*region_fn)(void*);
typedef void (*gomp_parallel_fn)(region_fn, void*, unsigned, unsigned);

struct Stats {
  void* fn;
  long calls;
  double wall, busy_sum, busy_max, start_lag, gap_before;  // seconds, summed over calls
  double busy_thread0;                                      // the calling thread's share
};

static struct Stats stats[kMaxFunctions];
static int n_functions;
static int overflow;
static double first_fork = -1, last_join = -1;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

struct Call {
  region_fn fn;
  void* data;
  double fork;
  int team;
  double begin[kMaxThreads], end[kMaxThreads];
};

static void trampoline(void* p) {
  struct Call* c = (struct Call*)p;
  const int t = omp_get_thread_num();
  const double b = now();
  c->fn(c->data);
  if (t < kMaxThreads) {
    c->begin[t] = b;
    c->end[t] = now();
  }
  if (t == 0) c->team = omp_get_num_threads();
}

static struct Stats* stats_of(void* fn) {
  for (int i = 0; i < n_functions; ++i)
    if (stats[i].fn == fn) return &stats[i];
  if (n_functions == kMaxFunctions) {
    overflow = 1;
    return NULL;
  }
  stats[n_functions].fn = fn;
  return &stats[n_functions++];
}

void GOMP_parallel(region_fn fn, void* data, unsigned num_threads, unsigned flags) {
  static gomp_parallel_fn real;
  if (!real) real = (gomp_parallel_fn)dlsym(RTLD_NEXT, "GOMP_parallel");
  if (omp_in_parallel()) {  // a nested region (one thread here): part of the outer one's body
    real(fn, data, num_threads, flags);
    return;
  }
  static __thread struct Call slot;  // (each thread's top-level regions, one at a time)
  struct Call* c = &slot;
  c->team = 0;
  c->fn = fn;
  c->data = data;
  c->fork = now();
  real(trampoline, c, num_threads, flags);
  const double join = now();
  pthread_mutex_lock(&lock);
  struct Stats* s = stats_of((void*)fn);
  if (s) {
    s->calls++;
    s->wall += join - c->fork;
    if (last_join >= 0) s->gap_before += c->fork - last_join;
    double busy_max = 0, lag_max = 0;
    const int team = c->team < kMaxThreads ? c->team : kMaxThreads;
    for (int t = 0; t < team; ++t) {
      const double busy = c->end[t] - c->begin[t];
      s->busy_sum += busy;
      if (busy > busy_max) busy_max = busy;
      if (t > 0 && c->begin[t] - c->fork > lag_max) lag_max = c->begin[t] - c->fork;
    }
    s->busy_thread0 += c->end[0] - c->begin[0];
    s->busy_max += busy_max;
    s->start_lag += lag_max;
  }
  if (first_fork < 0) first_fork = c->fork;
  last_join = join;
  pthread_mutex_unlock(&lock);
}

__attribute__((destructor)) static void write_report(void) {
  const char* path = getenv("TAPIR_REGIONS_OUT");
  if (!path || !*path || n_functions == 0) return;
  FILE* out = fopen(path, "w");
  if (!out) {
    fprintf(stderr, "omp_regions: cannot write %s\n", path);
    return;
  }
  fprintf(out, "# elapsed\t%.9f\tthreads\t%d\toverflow\t%d\n", last_join - first_fork, omp_get_max_threads(), overflow);
  for (int i = 0; i < n_functions; ++i) {
    const struct Stats* s = &stats[i];
    Dl_info d;
    const char* file = "?";
    long offset = 0;
    if (dladdr(s->fn, &d) && d.dli_fname) {
      file = d.dli_fname;
      offset = (long)((const char*)s->fn - (const char*)d.dli_fbase);
    }
    fprintf(out, "%ld\t%.9f\t%.9f\t%.9f\t%.9f\t%.9f\t%.9f\t%s\t0x%lx\n", s->calls, s->wall, s->busy_sum,
            s->busy_max, s->busy_thread0, s->start_lag, s->gap_before, file, offset);
  }
  fclose(out);
}
