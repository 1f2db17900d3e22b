// Checked size arithmetic: the hostile sizes of issue 13 (wrapped products, SIZE_MAX dims,
// huge strides and pads) must be typed errors naming the shape, never a wrap or a crash.
#include "../testing.hpp"

#include <cstdint>

using namespace tapir;
namespace tfn = tapir::nn;

TEST_SUITE("core/shape_arith") {

TEST_CASE("checked_mul, checked_add and checked_numel refuse what does not fit") {
  CHECK(checked_mul(3, 5, "x") == 15);
  CHECK(checked_add(3, 5, "x") == 8);
  CHECK_THROWS_WITH_AS(checked_mul(SIZE_MAX, 2, "rows * cols"), doctest::Contains("rows * cols"), ShapeError);
  CHECK_THROWS_WITH_AS(checked_add(SIZE_MAX, 1, std::string("pad")), doctest::Contains("overflows"), ShapeError);
  CHECK(checked_numel({2, 3, 4}, "t") == 24);
  CHECK(checked_numel({}, "t") == 1);
  CHECK(checked_numel({0, SIZE_MAX}, "t") == 0);
  CHECK_THROWS_WITH_AS(checked_numel({1ull << 32, 1ull << 32}, "t"), doctest::Contains("[4294967296,4294967296]"),
                       ShapeError);
  CHECK_THROWS_AS(numel({1ull << 32, 1ull << 32}), ShapeError);
}

TEST_CASE("creating a tensor too big for 64 bits or for the limit is a ShapeError naming the shape") {
  CHECK_THROWS_WITH_AS(Tensor::zeros({SIZE_MAX}, DType::float32),
                       doctest::Contains("tensor of shape [18446744073709551615] float32 would need"), ShapeError);
  CHECK_THROWS_WITH_AS(Tensor::full({1ull << 62}, DType::float32, 1.0), doctest::Contains("would need"), ShapeError);
  CHECK_THROWS_AS(Tensor::zeros({1ull << 32, 1ull << 32}, DType::float32), ShapeError);
  CHECK_THROWS_AS(Tensor::ones({1ull << 40}, DType::float64), ShapeError);  // 8 TiB: over the default limit
  CHECK_THROWS_AS(Tensor::empty({1ull << 31, 1ull << 31, 4}, DType::float64), ShapeError);
  CHECK_THROWS_AS(Tensor::from_vector<float>({1ull << 32, 1ull << 32}, {1.f}), ShapeError);
  // an empty tensor may have a large dim, but not one whose strides would wrap
  CHECK(Tensor::zeros({0, 1ull << 40}, DType::float32).size() == 0);
  CHECK_THROWS_AS(Tensor::zeros({0, 1ull << 62, 8}, DType::float32), ShapeError);
}

TEST_CASE("the tensor-size limit is configurable and restored by its scope") {
  const std::size_t before = max_tensor_bytes();
  CHECK(before == (std::size_t(16) << 30));
  {
    MaxTensorBytesScope scope(1024);
    CHECK(max_tensor_bytes() == 1024);
    CHECK_NOTHROW(Tensor::zeros({256}, DType::float32));
    CHECK_THROWS_WITH_AS(Tensor::zeros({257}, DType::float32),
                         doctest::Contains("tensor of shape [257] float32 would need 1028 bytes, more than the limit of 1024"),
                         ShapeError);
    CHECK_THROWS_AS(Tensor::zeros({129}, DType::float64), ShapeError);
  }
  CHECK(max_tensor_bytes() == before);
  CHECK_THROWS_AS(set_max_tensor_bytes(0), ValueError);
  CHECK(max_tensor_bytes() == before);
}

TEST_CASE("reshape refuses a product that wraps around to the element count") {
  Tensor x = Tensor::zeros({6}, DType::float32);
  CHECK_THROWS_WITH_AS(x.reshape({2, (1ull << 63) + 3}), doctest::Contains("reshape"), ShapeError);
  CHECK_THROWS_AS(reshape(constant(x), {2, (1ull << 63) + 3}), ShapeError);
  CHECK(x.reshape({2, 3}).shape() == Shape{2, 3});
}

TEST_CASE("pad and concat check their output sizes") {
  Var x = constant(Tensor::ones({2}, DType::float32));
  CHECK_THROWS_WITH_AS(pad(x, {{1ull << 62, 0}}), doctest::Contains("would need"), ShapeError);
  CHECK_THROWS_WITH_AS(pad(x, {{SIZE_MAX, 1}}), doctest::Contains("pad: axis 0"), ShapeError);
  CHECK(pad(x, {{1, 2}}).shape() == Shape{5});
  Var a = constant(Tensor::zeros({2, 3}, DType::float32));
  Var b = constant(Tensor::zeros({2, 3}, DType::float64));
  CHECK_THROWS_WITH_AS(concat({a, b}, 0), doctest::Contains("float64"), TypeError);
  CHECK_THROWS_AS(concat({a, constant(Tensor::zeros({2, 4}, DType::float32))}, 0), ShapeError);
  CHECK(concat({a, a}, 1).shape() == Shape{2, 6});
}

TEST_CASE("slice with a huge step counts its elements without wrapping") {
  Var x = constant(Tensor::from_vector<float>({3}, {1, 2, 3}));
  Var y = slice(x, {{0, 3, INT64_MAX}});
  REQUIRE(y.shape() == Shape{1});
  CHECK(y.value().at(0) == 1.0);
  CHECK(slice(x, {{1, 3, INT64_MAX - 1}}).shape() == Shape{1});
  CHECK(slice(x, {{2, 2, INT64_MAX}}).shape() == Shape{0});
  CHECK(slice(x, {{0, 3, 2}}).shape() == Shape{2});
}

TEST_CASE("Tensor::add_ reports a dtype mismatch as TypeError and a shape mismatch as ShapeError") {
  Tensor a = Tensor::zeros({3}, DType::float32);
  CHECK_THROWS_WITH_AS(a.add_(Tensor::zeros({3}, DType::float64)), doctest::Contains("dtypes differ"), TypeError);
  CHECK_THROWS_AS(a.add_(Tensor::zeros({4}, DType::float32)), ShapeError);
}

TEST_CASE("matmul with an empty operand does not touch memory and gives zeros where k is 0") {
  Var a = constant(Tensor::zeros({0, 1ull << 40}, DType::float32));
  Var b = constant(Tensor::zeros({1ull << 40, 0}, DType::float32));
  CHECK(matmul(a, b).shape() == Shape{0, 0});
  Var c = constant(Tensor::full({3, 0}, DType::float32, 1.0));
  Var d = constant(Tensor::full({0, 2}, DType::float32, 1.0));
  Var e = matmul(c, d);
  REQUIRE(e.shape() == Shape{3, 2});
  for (std::size_t i = 0; i < 6; ++i) CHECK(e.value().at(i) == 0.0);
}

TEST_CASE("conv geometry: SIZE_MAX inputs and huge strides are ShapeErrors, not wrapped sizes") {
  CHECK_THROWS_WITH_AS(conv_transpose_geometry({SIZE_MAX}, {3}, ConvTransposeOptions()),
                       doctest::Contains("conv_transpose: size along spatial dim 0 overflows"), ShapeError);
  CHECK_THROWS_AS(conv_transpose_geometry({SIZE_MAX}, {3}, ConvTransposeOptions().padding("SAME").strides(2)),
                  ShapeError);
  CHECK_THROWS_AS(conv_transpose_geometry({SIZE_MAX}, {3}, ConvTransposeOptions().output_padding(0)), ShapeError);
  CHECK_THROWS_AS(conv_transpose_geometry({1ull << 40, 1ull << 40}, {1, 1}, ConvTransposeOptions()), ShapeError);
  CHECK_THROWS_AS(conv_geometry({SIZE_MAX}, {SIZE_MAX}, ConvOptions().dilations(2)), ShapeError);
  CHECK_THROWS_AS(conv_geometry({SIZE_MAX}, {3}, ConvOptions().padding("SAME").dilations(1 << 30)), ShapeError);
  // strides of 2^30: the output extent is formed exactly and the tensor is refused before allocation
  Var x = constant(Tensor::ones({1, 4, 4, 1}, DType::float32));
  Var w = constant(Tensor::ones({3, 3, 1, 1}, DType::float32));
  CHECK_THROWS_AS(conv_transpose(x, w, ConvTransposeOptions().strides(1 << 30)), ShapeError);
  Var x2 = constant(Tensor::ones({1, 2, 2, 1}, DType::float32));
  CHECK_THROWS_WITH_AS(conv_transpose(x2, w, ConvTransposeOptions().strides(1 << 30).padding("SAME")),
                       doctest::Contains("would need"), ShapeError);
  // ordinary geometry is unchanged
  const ConvGeometry g = conv_transpose_geometry({7}, {5}, ConvTransposeOptions().strides(2).padding("SAME"));
  CHECK(g.big == std::vector<std::size_t>{14});
  CHECK(g.pad_lead == std::vector<std::size_t>{1});
  const ConvGeometry g2 = conv_transpose_geometry({3}, {3}, ConvTransposeOptions().strides(2).output_padding(1));
  CHECK(g2.big == std::vector<std::size_t>{8});
  CHECK(conv_transpose_geometry({1}, {1}, ConvTransposeOptions().padding("SAME").output_padding(0)).big ==
        std::vector<std::size_t>{1});
}

TEST_CASE("a layer whose kernel would not fit is refused at construction with the kernel shape") {
  CHECK_THROWS_WITH_AS(tfn::AffineVariationalFlipout(1ull << 62, 4), doctest::Contains("[4611686018427387904,4]"),
                       ShapeError);
  CHECK_THROWS_AS(tfn::AffineVariationalFlipout(1ull << 40, 1ull << 30), ShapeError);
  CHECK_NOTHROW(tfn::AffineVariationalFlipout(3, 2));
}

}  // TEST_SUITE
