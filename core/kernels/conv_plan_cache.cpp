// The process-wide cache of gather plans (kernels::shared_plans): a short list, most recently
// used first, searched linearly — it holds the few geometries of one model (a conv layer's
// forward and its gradients, at the training and the evaluation batch size).
#include <algorithm>
#include <list>
#include <mutex>

#include "conv_gemm.hpp"

namespace tapir::kernels {

namespace {

struct PlanKey {
  PlanKind kind;
  Geo3 g;
  long images;
  bool operator==(const PlanKey& o) const {
    return kind == o.kind && images == o.images && g.small == o.g.small && g.big == o.g.big &&
           g.filter == o.g.filter && g.stride == o.g.stride && g.dil == o.g.dil && g.pad == o.g.pad;
  }
};

struct Entry {
  PlanKey key;
  std::shared_ptr<const std::vector<GatherPlan>> plans;
  std::size_t bytes;
};

// The bytes a list's tables take (what the cache's budget counts).
std::size_t table_bytes(const std::vector<GatherPlan>& plans) {
  std::size_t b = 0;
  for (const GatherPlan& p : plans) {
    b += (p.src_pixel.size() + p.out_pixel.size() + p.tap_index.size() + p.run_first.size() + p.run_taps.size() +
          p.row_source.size() + p.tap_shift.size()) *
         sizeof(long);
    for (const GatherAxis& a : p.axis) b += (a.out.size() + a.tap.size() + a.src.size()) * sizeof(long);
  }
  return b;
}

std::vector<GatherPlan> build(PlanKind kind, const Geo3& g, long images, const char* who) {
  switch (kind) {
    case PlanKind::small_rows:
      return {small_row_plan(g, images, who)};
    case PlanKind::small_products:
      return small_row_product_plans(g, images, who);
    case PlanKind::big_rows:
      break;
  }
  return big_row_plans(g, images, who);
}

class PlanCache {
 public:
  std::shared_ptr<const std::vector<GatherPlan>> get(PlanKind kind, const Geo3& g, long images, const char* who) {
    const PlanKey key{kind, g, images};
    {
      std::lock_guard<std::mutex> lock(mutex_);
      for (auto it = entries_.begin(); it != entries_.end(); ++it)
        if (it->key == key) {
          entries_.splice(entries_.begin(), entries_, it);  // most recently used first
          return it->plans;
        }
    }
    // built outside the lock (a big plan takes milliseconds; a plan that cannot be built
    // throws, naming `who`, and nothing is kept)
    auto plans = std::make_shared<const std::vector<GatherPlan>>(build(kind, g, images, who));
    const std::size_t bytes = table_bytes(*plans);
    if (bytes > kPlanCacheBytes) return plans;
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = entries_.begin(); it != entries_.end(); ++it)
      if (it->key == key) {  // another thread built it meanwhile
        entries_.splice(entries_.begin(), entries_, it);
        return it->plans;
      }
    entries_.push_front({key, plans, bytes});
    bytes_ += bytes;
    while (entries_.size() > kPlanCacheEntries || bytes_ > kPlanCacheBytes) {
      bytes_ -= entries_.back().bytes;
      entries_.pop_back();
    }
    return plans;
  }
  PlanCacheUse use() {
    std::lock_guard<std::mutex> lock(mutex_);
    return {entries_.size(), bytes_};
  }

 private:
  std::mutex mutex_;
  std::list<Entry> entries_;
  std::size_t bytes_ = 0;
};

PlanCache& cache() {
  static PlanCache* c = new PlanCache;  // never destroyed: ops may run during static destruction
  return *c;
}

}  // namespace

std::shared_ptr<const std::vector<GatherPlan>> shared_plans(PlanKind kind, const Geo3& g, long images,
                                                            const char* who) {
  return cache().get(kind, g, images, who);
}

PlanCacheUse plan_cache_use() { return cache().use(); }

}  // namespace tapir::kernels
