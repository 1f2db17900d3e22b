// tapir::nn — TFP's tfp.experimental.nn in C++: layers, initializers, losses, util.
//   namespace tfn = tapir::nn;
#pragma once

#include "affine.hpp"
#include "checkpoint.hpp"
#include "convolution.hpp"
#include "convolution_transpose.hpp"
#include "flipout.hpp"
#include "initializers.hpp"
#include "kernel_bias.hpp"
#include "layer.hpp"
#include "losses.hpp"
#include "reparameterization.hpp"
#include "sequential.hpp"
#include "util.hpp"
#include "variational_layer.hpp"
#include "variational_options.hpp"


namespace tfn = tapir::nn;
