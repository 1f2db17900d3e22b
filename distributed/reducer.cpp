#include <tapir/distributed/reducer.hpp>

#include <cstring>
#include <unordered_set>

#include <tapir/distributed/collectives.hpp>
#include <tapir/distributed/context.hpp>
#include <tapir/distributed/error.hpp>

#include "mpi_types.hpp"

namespace tapir::distributed {

namespace {
// The sum over ranks becomes the mean; a division (not a product with 1/K) so that the result
// is the correctly rounded mean, the same on every rank.
void divide(Tensor& t, double ranks) {
  if (t.dtype() == DType::float64) {
    double* p = t.data<double>();
    for (std::size_t i = 0; i < t.size(); ++i) p[i] /= ranks;
  } else {
    float* p = t.data<float>();
    const float r = static_cast<float>(ranks);
    for (std::size_t i = 0; i < t.size(); ++i) p[i] /= r;
  }
}
}  // namespace

GradientReducer::GradientReducer(std::vector<Var> params, ReducerOptions options)
    : params_(std::move(params)), options_(options) {
  Context::current("distributed::GradientReducer");  // fails early without a Context
  if (options_.bucket_bytes() == 0) throw ValueError("distributed::GradientReducer: bucket_bytes must be > 0");
  std::unordered_set<const VarImpl*> seen;
  for (std::size_t i = 0; i < params_.size(); ++i) {
    const Var& p = params_[i];
    if (!p.defined() || !p.is_leaf() || !p.requires_grad())
      throw ValueError("distributed::GradientReducer: parameter " + std::to_string(i) +
                       (p.defined() ? " '" + p.name() + "'" : std::string()) + " is not a trainable leaf");
    if (!seen.insert(p.impl()).second)
      throw ValueError("distributed::GradientReducer: parameter '" + p.name() + "' is listed twice");
  }
  // Reverse registration order: backward finishes the last layers first. A bucket is closed
  // when the next parameter has another dtype or would take it past bucket_bytes.
  bucket_of_.resize(params_.size());
  slot_of_.resize(params_.size());
  detail::Fnv1a layout;
  layout.word(params_.size());
  for (std::size_t k = params_.size(); k-- > 0;) {
    const Var& p = params_[k];
    const bool new_bucket = buckets_.empty() || buckets_.back().dtype != p.dtype() ||
                            (buckets_.back().elements > 0 &&
                             (buckets_.back().elements + p.size()) * dtype_size(p.dtype()) > options_.bucket_bytes());
    if (new_bucket) {
      buckets_.emplace_back();
      buckets_.back().dtype = p.dtype();
      layout.word(0xB0C3E7ull);  // bucket boundaries are part of the layout
    }
    Bucket& b = buckets_.back();
    bucket_of_[k] = buckets_.size() - 1;
    slot_of_[k] = b.slots.size();
    b.slots.push_back({k, b.elements});
    b.elements += p.size();
    layout.shape(p.shape(), p.dtype());
  }
  for (Bucket& b : buckets_) b.buffer = Tensor::zeros({b.elements}, b.dtype);
  copied_.assign(params_.size(), false);
  check_same_on_all_ranks(layout.h, "distributed::GradientReducer: the bucket layout (parameter shapes and dtypes)");
  if (options_.overlap())
    for (std::size_t k = 0; k < params_.size(); ++k)
      hook_ids_.push_back(params_[k].add_grad_ready_hook([this, k](const Var&) { on_ready(k); }));
}

GradientReducer::~GradientReducer() {
  for (std::size_t k = 0; k < hook_ids_.size(); ++k) params_[k].remove_grad_ready_hook(hook_ids_[k]);
  // MPI needs started requests completed before their buffers go away.
  for (Bucket& b : buckets_)
    if (b.request != MPI_REQUEST_NULL && Context::active()) MPI_Wait(&b.request, MPI_STATUS_IGNORE);
}

std::vector<std::vector<std::size_t>> GradientReducer::bucket_layout() const {
  std::vector<std::vector<std::size_t>> out;
  for (const Bucket& b : buckets_) {
    out.emplace_back();
    for (const Slot& s : b.slots) out.back().push_back(s.param);
  }
  return out;
}

void GradientReducer::copy_in(std::size_t k) {
  Bucket& b = buckets_[bucket_of_[k]];
  const Slot& slot = b.slots[slot_of_[k]];
  const Tensor& g = params_[k].grad();
  const std::size_t bytes = params_[k].value().nbytes();
  char* dst = static_cast<char*>(b.buffer.raw_data()) + slot.offset * dtype_size(b.buffer.dtype());
  if (g.defined()) std::memcpy(dst, g.raw_data(), bytes);
  else std::memset(dst, 0, bytes);  // no gradient on this rank: contributes zeros
  copied_[k] = true;
  ++b.ready;
}

void GradientReducer::on_ready(std::size_t k) {
  if (copied_[k])
    throw ValueError("distributed::GradientReducer: parameter '" + params_[k].name() +
                     "' received a second backward before finish(); call finish() after each backward");
  copy_in(k);
  start_ready_buckets();
  progress();
}

void GradientReducer::start(Bucket& b) {
  Context& ctx = Context::current("distributed::GradientReducer");
  ctx.check(MPI_Iallreduce(MPI_IN_PLACE, b.buffer.raw_data(), static_cast<int>(b.buffer.size()),
                           detail::mpi_type(b.buffer.dtype()), MPI_SUM, ctx.comm(), &b.request),
            "distributed::GradientReducer: MPI_Iallreduce of bucket " + std::to_string(&b - buckets_.data()));
}

void GradientReducer::start_ready_buckets() {
  while (next_to_start_ < buckets_.size() && buckets_[next_to_start_].ready == buckets_[next_to_start_].slots.size())
    start(buckets_[next_to_start_++]);
}

void GradientReducer::progress() {
  Context& ctx = Context::current("distributed::GradientReducer");
  for (std::size_t i = 0; i < next_to_start_; ++i) {
    if (buckets_[i].request == MPI_REQUEST_NULL) continue;
    int done = 0;
    ctx.check(MPI_Test(&buckets_[i].request, &done, MPI_STATUS_IGNORE), "distributed::GradientReducer: MPI_Test");
  }
}

void GradientReducer::finish() {
  Context& ctx = Context::current("distributed::GradientReducer::finish");
  started_early_ = next_to_start_;
  for (std::size_t k = 0; k < params_.size(); ++k)
    if (!copied_[k]) copy_in(k);  // not reached by backward here (or overlap off)
  start_ready_buckets();
  const double ranks = static_cast<double>(ctx.size());
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    Bucket& b = buckets_[i];
    ctx.wait(b.request, "distributed::GradientReducer: allreduce of bucket " + std::to_string(i) + " of " +
                            std::to_string(buckets_.size()));
    divide(b.buffer, ranks);
    for (const Slot& slot : b.slots) {
      Var p = params_[slot.param];
      Tensor g = Tensor::empty(p.shape(), p.dtype());
      std::memcpy(g.raw_data(), static_cast<const char*>(b.buffer.raw_data()) + slot.offset * dtype_size(b.buffer.dtype()),
                  g.nbytes());
      p.mutable_grad() = std::move(g);
    }
    b.ready = 0;
  }
  copied_.assign(params_.size(), false);
  next_to_start_ = 0;
}

}  // namespace tapir::distributed
