// tapir::optim — optimizers, learning-rate schedules, gradient clipping and optimizer state I/O
// for hand-written training loops (the TFP way):
//
//   namespace opt = tapir::optim;
//   opt::Adam adam(model.trainable_variables(), opt::AdamOptions().learning_rate(1e-3));
//   adam.set_schedule(opt::cosine_decay(/*decay_steps=*/10000, /*alpha=*/0.0,
//   /*warmup_steps=*/500)); for (int step = 0; step < 10500; ++step) {
//     adam.zero_grad();
//     tapir::Var loss = ...;
//     tapir::backward(loss);
//     opt::clip_grad_norm(adam.parameters(), 1.0);
//     adam.step(loss);
//   }
//   opt::save_state(adam, "ckpt/adam.npz");
#pragma once

#include <tapir/optim/adagrad.hpp>
#include <tapir/optim/adam.hpp>
#include <tapir/optim/clipping.hpp>
#include <tapir/optim/optimizer.hpp>
#include <tapir/optim/optimizer_with_options.hpp>
#include <tapir/optim/options.hpp>
#include <tapir/optim/rmsprop.hpp>
#include <tapir/optim/schedules.hpp>
#include <tapir/optim/sgd.hpp>
#include <tapir/optim/state.hpp>
