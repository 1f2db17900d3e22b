// main() of the MPI test programs: one distributed::Context around doctest, and the exit
// status agreed over the ranks (mpirun reports the first non-zero one anyway; agreeing keeps a
// rank that passed from finalising while another still runs).
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <algorithm>

#include <tapir/distributed/context.hpp>

int main(int argc, char** argv) {
  // A failing REQUIRE on one rank can leave the other in a collective: the watchdog ends the
  // job after 60 s with a message instead of letting meson's timeout kill it silently.
  tapir::distributed::Context mpi(&argc, &argv, tapir::distributed::ContextOptions().timeout_seconds(60));
  doctest::Context tests(argc, argv);
  int status = tests.run();
  int worst = status;
  MPI_Allreduce(&status, &worst, 1, MPI_INT, MPI_MAX, mpi.comm());
  return worst;
}
