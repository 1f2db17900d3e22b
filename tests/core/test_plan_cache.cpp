// The gather-plan cache behind the convolution engine (an internal API, tested white-box):
// one list per kind, geometry and batch, shared between calls and threads, equal to a fresh
// build, and bounded in lists and bytes.
#include "../testing.hpp"
#include "../../core/kernels/conv_gemm.hpp"

#include <thread>

using namespace tapir::kernels;

namespace {

Geo3 odd_geometry() {  // a geometry no other test uses: 11 x 11 -> 6 x 6, 3 x 3 filter, stride 2
  Geo3 g;
  g.small = {1, 6, 6};
  g.big = {1, 11, 11};
  g.filter = {1, 3, 3};
  g.stride = {1, 2, 2};
  return g;
}

void check_same_plans(const std::vector<GatherPlan>& a, const std::vector<GatherPlan>& b) {
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    CHECK(a[i].images == b[i].images);
    CHECK(a[i].tap_index == b[i].tap_index);
    CHECK(a[i].out_pixel == b[i].out_pixel);
    CHECK(a[i].src_pixel == b[i].src_pixel);
    CHECK(a[i].run_first == b[i].run_first);
    CHECK(a[i].run_taps == b[i].run_taps);
  }
}

}  // namespace

TEST_CASE("gather plans are built once per kind, geometry and batch, and equal a fresh build") {
  const Geo3 g = odd_geometry();
  const auto big = shared_plans(PlanKind::big_rows, g, 3, "test");
  CHECK(shared_plans(PlanKind::big_rows, g, 3, "test").get() == big.get());
  CHECK(shared_plans(PlanKind::big_rows, g, 4, "test").get() != big.get());            // another batch
  CHECK(shared_plans(PlanKind::small_products, g, 3, "test").get() != big.get());      // another kind
  Geo3 padded = g;
  padded.pad = {0, 1, 1};
  CHECK(shared_plans(PlanKind::big_rows, padded, 3, "test").get() != big.get());       // another geometry
  check_same_plans(*big, big_row_plans(g, 3, "test"));
  check_same_plans(*shared_plans(PlanKind::small_products, g, 3, "test"), small_row_product_plans(g, 3, "test"));
  const auto rows = shared_plans(PlanKind::small_rows, g, 3, "test");
  REQUIRE(rows->size() == 1);
  check_same_plans(*rows, {small_row_plan(g, 3, "test")});
}

TEST_CASE("the plan cache keeps at most its entries and bytes; a list bigger than its budget is not kept") {
  const Geo3 g = odd_geometry();
  for (long images = 1; images <= static_cast<long>(kPlanCacheEntries) + 10; ++images)
    shared_plans(PlanKind::small_rows, g, images, "test");
  PlanCacheUse use = plan_cache_use();
  CHECK(use.entries == kPlanCacheEntries);
  CHECK(use.bytes <= kPlanCacheBytes);
  // a 3-D 72^3 image through 3 x 3 x 3 taps: 373,248 rows x 27 taps of tables, about 80 MB
  Geo3 huge;
  huge.small = huge.big = {72, 72, 72};
  huge.filter = {3, 3, 3};
  huge.pad = {1, 1, 1};
  const auto a = shared_plans(PlanKind::small_rows, huge, 1, "test");
  const auto b = shared_plans(PlanKind::small_rows, huge, 1, "test");
  CHECK(a.get() != b.get());  // built each time, never kept
  CHECK(a->front().src_pixel == b->front().src_pixel);
  use = plan_cache_use();
  CHECK(use.entries == kPlanCacheEntries);
  CHECK(use.bytes <= kPlanCacheBytes);
}

TEST_CASE("threads asking for the same plans get equal lists") {
  const Geo3 g = odd_geometry();
  std::vector<std::shared_ptr<const std::vector<GatherPlan>>> got(2 * 50);
  auto ask = [&](int t) {
    for (int i = 0; i < 50; ++i) got[t * 50 + i] = shared_plans(PlanKind::big_rows, g, 100 + i % 5, "test");
  };
  std::thread other(ask, 1);
  ask(0);
  other.join();
  for (int i = 0; i < 100; ++i) check_same_plans(*got[i], big_row_plans(g, 100 + (i % 50) % 5, "test"));
}
