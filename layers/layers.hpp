// tapir::nn — TFP's tfp.experimental.nn in C++: layers, initializers, losses, util.
//   namespace tfn = tapir::nn;
#pragma once

#include <tapir/layers/checkpoint.hpp>
#include <tapir/layers/deterministic.hpp>
#include <tapir/layers/dnn_to_bnn.hpp>
#include <tapir/layers/dropout.hpp>
#include <tapir/layers/flipout.hpp>
#include <tapir/layers/initializers.hpp>
#include <tapir/layers/kernel_bias.hpp>
#include <tapir/layers/layer.hpp>
#include <tapir/layers/local_reparameterization.hpp>
#include <tapir/layers/losses.hpp>
#include <tapir/layers/normalization.hpp>
#include <tapir/layers/pooling.hpp>
#include <tapir/layers/predictive.hpp>
#include <tapir/layers/reparameterization.hpp>
#include <tapir/layers/sequential.hpp>
#include <tapir/layers/util.hpp>
#include <tapir/layers/variational_layer.hpp>
#include <tapir/layers/variational_options.hpp>


namespace tfn = tapir::nn;
