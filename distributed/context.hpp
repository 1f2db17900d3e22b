// distributed::Context — the MPI session of one process (one rank), RAII.
//
//   int main(int argc, char** argv) {
//     tapir::distributed::Context mpi(&argc, &argv);            // MPI_Init_thread ... MPI_Finalize
//     return tapir::distributed::guarded_main([&] { ...; return 0; });
//   }
//
// One Context per process (MPI can be initialised once): a second one is a DistributedError.
// The collectives (collectives.hpp, reducer.hpp) use the Context that is alive; they work on a
// duplicate of MPI_COMM_WORLD whose error handler is MPI_ERRORS_RETURN, so a failing MPI call
// becomes a DistributedError carrying MPI's error string instead of killing the process.
//
// Failure (docs/distributed.md): a rank that cannot go on must not leave the others waiting.
//  * an exception escaping `guarded_main`, an uncaught exception (std::terminate) or a Context
//    destroyed while an exception unwinds: the rank prints
//    "tapir::distributed: rank R of K failed: <what>" and calls MPI_Abort, which ends every rank;
//  * a rank that dies (signal, exit without finalising): mpirun notices and ends the others;
//  * a rank that hangs: every wait in tapir::distributed polls its request with MPI_Test and,
//    past `timeout_seconds`, aborts the job with a message naming the collective.
// MPI is initialised with MPI_THREAD_FUNNELED: only the thread that made the Context calls MPI
// (OpenMP threads inside kernels never do).
#pragma once
#include <mpi.h>

#include <cstddef>
#include <functional>
#include <string>

#include <tapir/core/options.hpp>

namespace tapir::distributed {

/// Defaults: timeout_seconds = 300 (a wait longer than this ends the job).
struct ContextOptions {
  using Self = ContextOptions;
  TAPIR_ARG(double, timeout_seconds) = 300.0;
};

class Context {
 public:
  /// MPI_Init_thread(argc, argv) unless MPI is already initialised; argc/argv may be null.
  explicit Context(int* argc = nullptr, char*** argv = nullptr, ContextOptions options = {});
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  /// Rank among the processes on this machine (MPI_COMM_TYPE_SHARED), e.g. to pick a device.
  int local_rank() const { return local_rank_; }
  int local_size() const { return local_size_; }
  bool is_root() const { return rank_ == 0; }
  MPI_Comm comm() const { return comm_; }
  const ContextOptions& options() const { return options_; }
  void set_timeout_seconds(double seconds) { options_.timeout_seconds(seconds); }

  /// The Context alive in this process; DistributedError naming `who` if there is none.
  static Context& current(const char* who);
  /// Whether a Context is alive (programs that also run without mpirun ask this).
  static bool active();

  /// Prints "tapir::distributed: rank R of K failed: <message>" on stderr and ends every rank
  /// (MPI_Abort with `code`). Does not return.
  [[noreturn]] void abort(const std::string& message, int code = 1) const;
  /// Throws DistributedError "<who>: <MPI's error string> (rank R of K)" unless code == MPI_SUCCESS.
  void check(int code, const std::string& who) const;
  /// Waits for `request` by polling MPI_Test (then sleeping briefly between polls, so a waiting
  /// rank leaves the core to others); past timeout_seconds aborts the job naming `what`.
  void wait(MPI_Request& request, const std::string& what) const;

 private:
  ContextOptions options_;
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
  bool owns_mpi_ = false;
  int uncaught_at_start_ = 0;
};

/// Rank and size of the current Context; rank 0 and size 1 when there is none, so a program
/// written for mpirun also runs as one plain process.
int rank();
int world_size();
/// True on rank 0 (or without a Context): the rank that writes checkpoints and prints.
bool is_root();

/// Runs `body`; an exception escaping it ends every rank with its message (Context::abort).
/// Without a Context, prints the message and returns 1.
int guarded_main(const std::function<int()>& body);

}  // namespace tapir::distributed
