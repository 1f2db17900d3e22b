// Run by test_failure.sh on 2 ranks: rank 1 fails in the way argv[1] names while rank 0 waits
// in a barrier with the default 300 s watchdog (except "hang", where rank 0's watchdog is 3 s
// and is what ends the job). Every mode must end both ranks quickly with a message.
#include <chrono>
#include <csignal>
#include <cstdio>
#include <string>
#include <thread>

#include <tapir/core/error.hpp>
#include <tapir/distributed/distributed.hpp>

namespace dist = tapir::distributed;

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  dist::Context mpi(&argc, &argv);
  if (mode == "hang") mpi.set_timeout_seconds(3);
  dist::barrier();  // both ranks are up
  if (mode == "uncaught" && mpi.rank() == 1) throw tapir::ValueError("injected uncaught failure");
  return dist::guarded_main([&] {
    if (mpi.rank() == 1) {
      if (mode == "throw") throw tapir::ValueError("injected failure on rank 1");
      if (mode == "die") std::raise(SIGKILL);
      if (mode == "hang") std::this_thread::sleep_for(std::chrono::seconds(120));
    }
    dist::barrier();
    std::printf("rank %d: barrier passed\n", mpi.rank());
    return 0;
  });
}
