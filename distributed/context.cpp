#include <tapir/distributed/context.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <thread>

#include <tapir/distributed/error.hpp>

namespace tapir::distributed {

namespace {
Context* g_current = nullptr;
std::terminate_handler g_previous_terminate = nullptr;

std::string rank_of(int rank, int size) {
  return "rank " + std::to_string(rank) + " of " + std::to_string(size);
}

std::string seconds_text(double s) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", s);
  return text;
}

// An exception nobody caught would otherwise end this rank alone while the others wait in a
// collective; ending the job with the exception's message is what every rank needs.
[[noreturn]] void abort_on_terminate() {
  std::string what = "std::terminate without an active exception";
  if (std::exception_ptr e = std::current_exception()) {
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      what = std::string("uncaught exception: ") + ex.what();
    } catch (...) {
      what = "uncaught exception of unknown type";
    }
  }
  if (g_current) g_current->abort(what);
  std::fprintf(stderr, "tapir::distributed: %s\n", what.c_str());
  std::abort();
}
}  // namespace

Context::Context(int* argc, char*** argv, ContextOptions options) : options_(options) {
  if (g_current) throw DistributedError("distributed::Context: a Context already exists in this process");
  if (!(options_.timeout_seconds() > 0))
    throw ValueError("distributed::Context: timeout_seconds must be > 0, got " +
                     std::to_string(options_.timeout_seconds()));
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    int provided = 0;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
      throw DistributedError("distributed::Context: MPI_Init_thread failed");
    owns_mpi_ = true;
    if (provided < MPI_THREAD_FUNNELED) {
      MPI_Finalize();
      throw DistributedError("distributed::Context: the MPI library does not provide MPI_THREAD_FUNNELED");
    }
  }
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  check(MPI_Comm_dup(MPI_COMM_WORLD, &comm_), "distributed::Context: MPI_Comm_dup");
  check(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), "distributed::Context: MPI_Comm_set_errhandler");
  check(MPI_Comm_rank(comm_, &rank_), "distributed::Context: MPI_Comm_rank");
  check(MPI_Comm_size(comm_, &size_), "distributed::Context: MPI_Comm_size");
  MPI_Comm local = MPI_COMM_NULL;
  check(MPI_Comm_split_type(comm_, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local),
        "distributed::Context: MPI_Comm_split_type");
  MPI_Comm_rank(local, &local_rank_);
  MPI_Comm_size(local, &local_size_);
  MPI_Comm_free(&local);
  uncaught_at_start_ = std::uncaught_exceptions();
  g_current = this;
  g_previous_terminate = std::set_terminate(abort_on_terminate);
}

Context::~Context() {
  if (std::uncaught_exceptions() > uncaught_at_start_)
    abort("the distributed::Context was destroyed while an exception was propagating");
  std::set_terminate(g_previous_terminate);
  g_current = nullptr;
  MPI_Comm_free(&comm_);
  if (owns_mpi_) MPI_Finalize();
}

Context& Context::current(const char* who) {
  if (!g_current)
    throw DistributedError(std::string(who) + ": no distributed::Context is alive (create one in main)");
  return *g_current;
}

bool Context::active() { return g_current != nullptr; }

void Context::abort(const std::string& message, int code) const {
  std::fprintf(stderr, "tapir::distributed: %s failed: %s; ending all ranks\n", rank_of(rank_, size_).c_str(),
               message.c_str());
  std::fflush(stderr);
  std::fflush(stdout);
  MPI_Abort(comm_ == MPI_COMM_NULL ? MPI_COMM_WORLD : comm_, code);
  std::abort();  // MPI_Abort does not return; this is for a broken MPI
}

void Context::check(int code, const std::string& who) const {
  if (code == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  MPI_Error_string(code, text, &length);
  throw DistributedError(who + ": " + std::string(text, static_cast<std::size_t>(length)) + " (" +
                         rank_of(rank_, size_) + ")");
}

void Context::wait(MPI_Request& request, const std::string& what) const {
  using clock = std::chrono::steady_clock;
  const auto start = clock::now();
  const auto limit = std::chrono::duration<double>(options_.timeout_seconds());
  for (long polls = 0;; ++polls) {
    int done = 0;
    check(MPI_Test(&request, &done, MPI_STATUS_IGNORE), what);
    if (done) return;
    // Spin first (a collective usually completes within microseconds), then yield the core.
    if (polls > 2000) std::this_thread::sleep_for(std::chrono::microseconds(polls > 20000 ? 1000 : 50));
    if ((polls & 63) == 0 && clock::now() - start > limit)
      abort(what + " did not complete within " + seconds_text(options_.timeout_seconds()) +
            " s: another rank is stuck, dead, or calling collectives in a different order");
  }
}

int rank() { return g_current ? g_current->rank() : 0; }
int world_size() { return g_current ? g_current->size() : 1; }
bool is_root() { return rank() == 0; }

int guarded_main(const std::function<int()>& body) {
  try {
    return body();
  } catch (const std::exception& e) {
    if (g_current) g_current->abort(e.what());
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}

}  // namespace tapir::distributed
