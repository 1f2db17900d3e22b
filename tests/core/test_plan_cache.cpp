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

namespace {

// Row q's tap u reads row_source[q] + tap_shift[u] for every live tap, and nothing through a dead one.
void check_shifted_taps(const GatherPlan& p) {
  REQUIRE(p.shifted_taps());
  REQUIRE(p.row_source.size() == static_cast<std::size_t>(p.rows_per_image));
  REQUIRE(p.tap_shift.size() == static_cast<std::size_t>(p.taps()));
  std::vector<bool> live(static_cast<std::size_t>(p.taps()), false);
  for (std::size_t r = 0; r < p.run_first.size(); ++r)
    for (long u = p.run_first[r]; u < p.run_first[r] + p.run_taps[r]; ++u) live[static_cast<std::size_t>(u)] = true;
  for (long q = 0; q < p.rows_per_image; ++q)
    for (long u = 0; u < p.taps(); ++u) {
      const long src = p.src_pixel[static_cast<std::size_t>(q * p.taps() + u)];
      if (live[static_cast<std::size_t>(u)])
        CHECK(src == p.row_source[static_cast<std::size_t>(q)] + p.tap_shift[static_cast<std::size_t>(u)]);
      else
        CHECK(src == -1);
    }
}

}  // namespace

TEST_CASE("border classes and stride phases read their taps at fixed distances (shifted taps); mixed borders do not") {
  // (small, big, filter, stride, dilation, padding) per dim
  auto geo = [](std::array<long, 3> small, std::array<long, 3> big, std::array<long, 3> filter,
                std::array<long, 3> stride, std::array<long, 3> dil, std::array<long, 3> pad) {
    Geo3 g;
    g.small = small;
    g.big = big;
    g.filter = filter;
    g.stride = stride;
    g.dil = dil;
    g.pad = pad;
    return g;
  };
  const Geo3 same = geo({1, 6, 6}, {1, 11, 11}, {1, 3, 3}, {1, 2, 2}, {1, 1, 1}, {0, 1, 1});  // stride 2, padded
  const Geo3 dilated = geo({1, 9, 9}, {1, 9, 9}, {1, 3, 3}, {1, 1, 1}, {1, 2, 2}, {0, 2, 2});  // dilation 2, SAME
  const Geo3 cube = geo({3, 4, 5}, {5, 4, 9}, {3, 2, 3}, {1, 1, 2}, {1, 1, 1}, {0, 0, 1});    // 3-D, one dim strided
  const std::vector<Geo3> geometries = {odd_geometry(), same, dilated, cube};
  for (const Geo3& g : geometries) {
    CAPTURE(g.big[2]);
    std::size_t shifted = 0;
    for (const GatherPlan& p : big_row_plans(g, 2, "test"))
      if (!p.run_first.empty()) check_shifted_taps(p), ++shifted;
    for (const GatherPlan& p : small_row_product_plans(g, 2, "test"))
      if (!p.run_first.empty()) check_shifted_taps(p), ++shifted;
    CHECK(shifted > 1);
  }
  // the whole small-row plan of a padded geometry mixes rows that miss taps with rows that do not
  CHECK_FALSE(small_row_plan(same, 2, "test").shifted_taps());
  CHECK_FALSE(small_row_plan(dilated, 2, "test").shifted_taps());
  // a VALID geometry: every row reads every tap, one class, shifted
  Geo3 valid = odd_geometry();
  valid.small = {1, 5, 5};
  check_shifted_taps(small_row_plan(valid, 2, "test"));
}
