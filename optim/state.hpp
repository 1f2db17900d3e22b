// Saving and restoring an optimizer's state, to sit beside the model's parameters:
//   tfn::save(model, "ckpt/model.npz");  opt::save_state(adam, "ckpt/adam.npz");
//   ... later, with the same model and an optimizer built the same way:
//   opt::load_state(adam, "ckpt/adam.npz");  adam.set_schedule(same_schedule);
// A resumed run then continues bit-identically to an uninterrupted one.
//
// The .npz (readable with np.load) holds float64 scalars unless noted:
//   optimizer/kind/<Kind>                 format version (1); the key names the optimizer
//   optimizer/step_count, optimizer/skipped_steps, optimizer/lr_factor (informational)
//   optimizer/num_groups
//   group/<g>/num_params, group/<g>/<hyper-parameter>   (flags as 0/1; on_nonfinite: 0 raise, 1
//   skip) param/<k>/<name>/shape                float64 vector of the dims param/<k>/<name>/dtype
//   32 or 64 param/<k>/<name>/step param/<k>/<name>/<buffer>             the state buffers, in the
//   parameter's dtype
// with k counting parameters over all groups in order. The schedule itself is code, not data:
// set it again after loading (it is a function of step_count, which is restored).
#pragma once
#include <string>

#include <tapir/core/npz.hpp>
#include <tapir/optim/optimizer.hpp>

namespace tapir::optim {

/// The state as named tensors (copies: later steps do not change them).
io::NamedTensors state_dict(const Optimizer& optimizer);
/// Restores state from `state_dict` output. Everything is checked before anything changes: the
/// optimizer kind, the number of groups and of parameters per group, each parameter's name,
/// shape and dtype, the hyper-parameters and buffers; a mismatch throws ValueError naming it.
void load_state_dict(Optimizer& optimizer, const io::NamedTensors& state);

/// state_dict written to `path` as .npz (atomically: a crash never leaves half a file).
void save_state(const Optimizer& optimizer, const std::string& path);
/// load_state_dict from an .npz written by save_state; errors name the file.
void load_state(Optimizer& optimizer, const std::string& path);

}  // namespace tapir::optim
