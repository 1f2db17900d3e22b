// The one error type of tapir::distributed: an MPI call that failed (its error string is in the
// message), ranks that disagree (a layout or a checksum), or a collective used without a Context.
// Derived from tapir::Error, so `catch (const tapir::Error&)` in a program still catches it.
#pragma once
#include <tapir/core/error.hpp>

namespace tapir::distributed {

class DistributedError : public Error { public: using Error::Error; };

}  // namespace tapir::distributed
