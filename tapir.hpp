// tapir: Bayesian deep learning in C++17 — the umbrella header.
//   #include <tapir/tapir.hpp>      (pkg-config --cflags --libs tapir)
// Pictures are the separate library tapir-viz: #include <tapir/viz/plots.hpp>
// (pkg-config --cflags --libs tapir-viz).
#pragma once

#include <tapir/core/anomaly.hpp>
#include <tapir/core/conv.hpp>
#include <tapir/core/error.hpp>
#include <tapir/core/gradcheck.hpp>
#include <tapir/core/nn.hpp>
#include <tapir/core/npz.hpp>
#include <tapir/core/ops.hpp>
#include <tapir/core/parallel.hpp>
#include <tapir/core/pooling.hpp>
#include <tapir/core/random.hpp>
#include <tapir/core/shape_arith.hpp>
#include <tapir/core/tensor.hpp>
#include <tapir/core/tensor_ops.hpp>
#include <tapir/core/var.hpp>
#include <tapir/core/xtensor_bridge.hpp>
#include <tapir/optim/optim.hpp>
#include <tapir/data/dataset.hpp>
#include <tapir/data/idx.hpp>
#include <tapir/data/loader.hpp>
#include <tapir/layers/layers.hpp>
#include <tapir/metrics/predictive.hpp>

#include <tapir/distributions/distributions.hpp>
