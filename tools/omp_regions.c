// omp_regions: where a multi-threaded run loses time, region by OpenMP region.
//
// Preloaded into a program built with gcc's OpenMP (LD_PRELOAD; tools/omp_regions.sh does it),
// it wraps every top-level GOMP_parallel call (the only entry point gcc emits for the
// `parallel` and `parallel for schedule(static)` regions tapir uses) and records, per outlined
// region function: its calls, its wall time (fork to join, on the calling thread), the team's
// size, each thread's busy time inside the region body, how late the other threads started
// after the fork, and the time the calling thread spent outside any region just before it
// (serial work: ops below their parallel grain, the tape, allocation). Calls that ran on a team
// of one (a false `if` clause, num_threads(1)) are kept apart: they are serial work too. At
// exit it writes one line per region function to $TAPIR_REGIONS_OUT (tab-separated;
// tools/omp_regions.py turns it into a report).
//
// Sampling profilers see a thread waiting at a barrier but not why; on a virtual machine their
// interrupts also slowed the 2-thread training step by a fifth at 2 kHz. This costs two clock
// reads per thread per region (regions last tens of microseconds and more).
#define _GNU_SOURCE
#include <dlfcn.h>
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { kMaxFunctions = 4096, kMaxThreads = 256 };

typedef void (*region_fn)(void*);
typedef void (*gomp_parallel_fn)(region_fn, void*, unsigned, unsigned);

struct Stats {
  void* fn;
  long calls, single_calls;    // all calls; those on a team of one
  double wall, single_wall;    // seconds, summed over calls (single_wall: the one-thread calls)
  double thread_time;          // wall x team, over the calls on teams of two or more
  double busy_sum, busy_mean;  // over those calls: all threads' busy time; its mean per thread
  double busy_max, busy_caller, start_lag, gap_before;
};

static struct Stats stats[kMaxFunctions];
static int n_functions;
static int overflow;  // 1: a function or a thread was not recorded
static double first_fork = -1, last_join = -1;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static gomp_parallel_fn real_parallel;
static __thread int depth;  // regions this thread is inside (active or not)

__attribute__((constructor)) static void find_gomp(void) {
  real_parallel = (gomp_parallel_fn)dlsym(RTLD_NEXT, "GOMP_parallel");
}

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
  ++depth;
  const double b = now();
  c->fn(c->data);
  const double e = now();
  --depth;
  if (t < kMaxThreads) {
    c->begin[t] = b;
    c->end[t] = e;
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

static void record(const struct Call* c, double join) {
  struct Stats* s = stats_of((void*)c->fn);
  if (s) {
    const double wall = join - c->fork;
    s->calls++;
    s->wall += wall;
    if (last_join >= 0) s->gap_before += c->fork - last_join;
    if (c->team <= 1) {
      s->single_calls++;
      s->single_wall += wall;
    } else {
      if (c->team > kMaxThreads) overflow = 1;
      const int team = c->team < kMaxThreads ? c->team : kMaxThreads;
      double busy_sum = 0, busy_max = 0, lag_max = 0;
      for (int t = 0; t < team; ++t) {
        const double busy = c->end[t] - c->begin[t];
        busy_sum += busy;
        if (busy > busy_max) busy_max = busy;
        if (t > 0 && c->begin[t] - c->fork > lag_max) lag_max = c->begin[t] - c->fork;
      }
      s->thread_time += wall * team;
      s->busy_sum += busy_sum;
      s->busy_mean += busy_sum / team;
      s->busy_max += busy_max;
      s->busy_caller += c->end[0] - c->begin[0];
      s->start_lag += lag_max;
    }
  }
  if (first_fork < 0) first_fork = c->fork;
  last_join = join;
}

void GOMP_parallel(region_fn fn, void* data, unsigned num_threads, unsigned flags) {
  if (!real_parallel) find_gomp();
  if (depth > 0) {  // a nested region: part of the enclosing one's body
    real_parallel(fn, data, num_threads, flags);
    return;
  }
  static __thread struct Call slot;  // (this thread's top-level region: one at a time)
  struct Call* c = &slot;
  c->team = 0;
  c->fn = fn;
  c->data = data;
  c->fork = now();
  real_parallel(trampoline, c, num_threads, flags);
  const double join = now();
  pthread_mutex_lock(&lock);
  record(c, join);
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
    fprintf(out, "%ld\t%ld\t%.9f\t%.9f\t%.9f\t%.9f\t%.9f\t%.9f\t%.9f\t%.9f\t%.9f\t%s\t0x%lx\n", s->calls,
            s->single_calls, s->wall, s->single_wall, s->thread_time, s->busy_sum, s->busy_mean, s->busy_max,
            s->busy_caller, s->start_lag, s->gap_before, file, offset);
  }
  fclose(out);
}
