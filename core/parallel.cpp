#include <tapir/core/parallel.hpp>

#include <string>

#include <tapir/core/error.hpp>
#ifdef _OPENMP
#include <omp.h>
#endif

namespace tapir {

int num_threads() {
#ifdef _OPENMP
  return omp_get_max_threads();
#else
  return 1;
#endif
}

void set_num_threads(int n) {
  if (n < 1) throw ValueError("set_num_threads: n must be >= 1, got " + std::to_string(n));
#ifdef _OPENMP
  omp_set_num_threads(n);
#endif
}

}  // namespace tapir
