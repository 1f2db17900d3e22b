#include "../testing.hpp"

using namespace tapir;

TEST_SUITE("core/tensor") {

TEST_CASE("construction, fill and conversion") {
  Tensor z(Shape{2, 3}, DType::float32);
  CHECK(z.size() == 6);
  CHECK(z.nbytes() == 24);
  for (std::size_t i = 0; i < z.size(); ++i) CHECK(z.at(i) == 0.0);
  Tensor f = Tensor::full({4}, DType::float64, 2.5);
  CHECK(f.at(3) == 2.5);
  CHECK(Tensor::scalar(3.0, DType::float32).item() == 3.0);
  CHECK_THROWS_AS(f.item(), ShapeError);
  CHECK_THROWS_AS(f.data<float>(), TypeError);
  Tensor d = f.astype(DType::float32);
  CHECK(d.dtype() == DType::float32);
  CHECK(d.at(1) == 2.5);
}

TEST_CASE("from_vector checks the element count") {
  Tensor t = Tensor::from_vector<double>({2, 2}, {1, 2, 3, 4});
  CHECK(t.at(3) == 4.0);
  CHECK_THROWS_AS(Tensor::from_vector<double>({2, 3}, {1, 2}), ShapeError);
}

TEST_CASE("rank is limited to 6 with a clear error") {
  CHECK_NOTHROW(Tensor::empty({1, 1, 1, 1, 1, 1}, DType::float32));
  CHECK_THROWS_WITH_AS(Tensor::empty({1, 1, 1, 1, 1, 1, 1}, DType::float32),
                       doctest::Contains("[1,1,1,1,1,1,1]"), ShapeError);
}

TEST_CASE("broadcast_shapes follows NumPy") {
  CHECK(broadcast_shapes({3, 1, 5}, {4, 5}, "t") == Shape{3, 4, 5});
  CHECK(broadcast_shapes({}, {2, 2}, "t") == Shape{2, 2});
  CHECK_THROWS_WITH_AS(broadcast_shapes({3, 2}, {3}, "add"),
                       doctest::Contains("add: shapes [3,2] and [3]"), ShapeError);
}

TEST_CASE("reshape shares the buffer, clone does not") {
  Tensor a = Tensor::from_vector<float>({2, 3}, {0, 1, 2, 3, 4, 5});
  Tensor r = a.reshape({3, 2});
  CHECK(r.shares_storage(a));
  CHECK(!a.clone().shares_storage(a));
  CHECK_THROWS_AS(a.reshape({4}), ShapeError);
}

TEST_CASE("xtensor round trip needs no element loops") {
  xt::xarray<float> x = {{1.f, 2.f, 3.f}, {4.f, 5.f, 6.f}};
  Tensor t = from_xarray(x);
  CHECK(t.shape() == Shape{2, 3});
  CHECK(t.dtype() == DType::float32);
  xt::xarray<float> back = to_xarray<float>(t);
  CHECK(back == x);
  Var v = constant(xt::xarray<double>{1.0, 2.0});
  CHECK(v.dtype() == DType::float64);
  CHECK(to_xarray<double>(v)(1) == 2.0);
}

TEST_CASE("live tensor bytes are tracked") {
  const auto before = live_tensor_bytes();
  {
    Tensor t(Shape{1000}, DType::float64);
    CHECK(live_tensor_bytes() - before == 8000);
  }
  CHECK(live_tensor_bytes() == before);
}

TEST_CASE("fills and one-value broadcasts cover every element over the threads (blocks and a tail)") {
  const int before = num_threads();
  for (int t : {1, 2}) {
    set_num_threads(t);
    CAPTURE(t);
    const std::size_t n = (std::size_t{1} << 16) * 3 + 17;  // three fill blocks and a partial one
    const Tensor f = Tensor::full({n}, DType::float32, 2.5);
    const auto fv = f.to_vector<float>();
    CHECK(std::all_of(fv.begin(), fv.end(), [](float v) { return v == 2.5f; }));
    const Tensor b = tensor_ops::broadcast_to(Tensor::full({1, 1}, DType::float64, -0.75), {3, n});
    const auto bv = b.to_vector<double>();
    CHECK(bv.size() == 3 * n);
    CHECK(std::all_of(bv.begin(), bv.end(), [](double v) { return v == -0.75; }));
    Var x = parameter(Tensor::zeros({5, n / 5}, DType::float32), "x");
    backward(sum(x) * 3.0);  // the sum's gradient: one value broadcast to x's shape
    const auto g = x.grad().to_vector<float>();
    CHECK(std::all_of(g.begin(), g.end(), [](float v) { return v == 3.0f; }));
  }
  set_num_threads(before);
}

TEST_CASE("broadcasts against one value, or one value per row, split long rows over the threads") {
  const int before = num_threads();
  const std::size_t n = (std::size_t{1} << 15) * 2 + 37;  // two pieces of a row and a tail
  Tensor x = Tensor::empty({3, n}, DType::float32);
  float* xp = x.data<float>();
  for (std::size_t i = 0; i < x.size(); ++i) xp[i] = 0.001f * static_cast<float>(i % 1000) - 0.3f;
  const Tensor one = Tensor::full({1}, DType::float32, 1.5), per_row = Tensor::from_vector<float>({3, 1}, {1, -2, 4});
  std::vector<float> want_mul(x.size()), want_sub(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    want_mul[i] = xp[i] * 1.5f;
    want_sub[i] = (i / n == 0 ? 1.0f : i / n == 1 ? -2.0f : 4.0f) - xp[i];
  }
  for (int t : {1, 2}) {
    set_num_threads(t);
    CAPTURE(t);
    CHECK(tensor_ops::mul(x, one).to_vector<float>() == want_mul);
    CHECK(tensor_ops::sub(per_row, x).to_vector<float>() == want_sub);
  }
  set_num_threads(before);
}

}
