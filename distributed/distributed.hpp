// tapir::distributed — data-parallel training over MPI (Open MPI); built as the separate library
// tapir-distributed when meson finds MPI (pkg-config tapir-distributed). docs/distributed.md.
#pragma once
#include <tapir/distributed/collectives.hpp>
#include <tapir/distributed/context.hpp>
#include <tapir/distributed/error.hpp>
#include <tapir/distributed/reducer.hpp>
#include <tapir/distributed/sampler.hpp>
#include <tapir/distributed/streams.hpp>
