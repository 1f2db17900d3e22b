#include "conv_geo3.hpp"

namespace tapir::kernels {

Geo3 to_geo3(const ConvGeometry& g) {
  Geo3 r;
  const std::size_t off = 3 - g.rank;
  for (std::size_t i = 0; i < g.rank; ++i) {
    r.small[off + i] = static_cast<long>(g.small[i]);
    r.big[off + i] = static_cast<long>(g.big[i]);
    r.filter[off + i] = static_cast<long>(g.filter[i]);
    r.stride[off + i] = static_cast<long>(g.stride[i]);
    r.dil[off + i] = static_cast<long>(g.dilation[i]);
    r.pad[off + i] = static_cast<long>(g.pad_lead[i]);
  }
  return r;
}

}  // namespace tapir::kernels
