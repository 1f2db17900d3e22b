// tapir: Bayesian deep learning in C++17 — the umbrella header.
//   #include <tapir/tapir.hpp>      (pkg-config --cflags --libs tapir)
#pragma once

#include "core/anomaly.hpp"
#include "core/conv.hpp"
#include "core/error.hpp"
#include "core/gradcheck.hpp"
#include "core/npz.hpp"
#include "core/ops.hpp"
#include "core/parallel.hpp"
#include "core/random.hpp"
#include "core/shape_arith.hpp"
#include "core/tensor.hpp"
#include "core/tensor_ops.hpp"
#include "core/var.hpp"
#include "core/xtensor_bridge.hpp"
#include "optim/optim.hpp"
#include "data/dataset.hpp"
#include "data/idx.hpp"
#include "data/loader.hpp"
#include "layers/layers.hpp"
#include "layers/predictive.hpp"
#include "viz/draw.hpp"
#include "viz/plots.hpp"
#include "viz/png.hpp"

#include "distributions/distributions.hpp"
