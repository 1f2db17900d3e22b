// Rademacher signs one bit per value (random::SignBits' layout: bit b of the array is bit b % 16
// of word b / 16; set means +1, clear -1), read as a vector of ±1 where a kernel multiplies by
// them. Multiplying by the ±1 vector gives the bits that multiplying by a ±1 tensor gives
// (x * 1 and x * -1 are exact, signed zeros included).
#pragma once
#include <cstddef>
#include <cstdint>

#include <xsimd/xsimd.hpp>

namespace tapir::kernels {

/// Where a run of signs starts: bit `lead` of `words` is the sign of the run's value 0.
struct SignRun {
  const std::uint16_t* words = nullptr;
  std::size_t lead = 0;
  explicit operator bool() const { return words != nullptr; }
};

/// The 16 sign bits from bit b on (the array's final zero word keeps b's next word in range).
inline std::uint32_t sign_bits16(const std::uint16_t* words, std::size_t b) {
  const std::uint32_t pair = words[b / 16] | (std::uint32_t{words[b / 16 + 1]} << 16);
  return (pair >> (b % 16)) & 0xFFFFu;
}

inline bool sign_positive(const std::uint16_t* words, std::size_t b) { return (words[b / 16] >> (b % 16)) & 1u; }

/// ±1 for the W = batch<T>::size values from bit b on.
template <class T>
inline xsimd::batch<T> sign_batch(const std::uint16_t* words, std::size_t b) {
  using B = xsimd::batch<T>;
  const std::uint32_t m = sign_bits16(words, b);
#if defined(__AVX512F__)
  if constexpr (B::size == 16 && std::is_same_v<T, float>)
    return B(_mm512_mask_blend_ps(static_cast<__mmask16>(m), _mm512_set1_ps(-1.0f), _mm512_set1_ps(1.0f)));
  if constexpr (B::size == 8 && std::is_same_v<T, double>)
    return B(_mm512_mask_blend_pd(static_cast<__mmask8>(m), _mm512_set1_pd(-1.0), _mm512_set1_pd(1.0)));
#endif
  alignas(64) T s[B::size];
  for (std::size_t j = 0; j < B::size; ++j) s[j] = (m >> j) & 1u ? T(1) : T(-1);
  return B::load_aligned(s);
}

/// sign_batch for a run that starts on a whole vector (b a multiple of batch<T>::size): its bits
/// are one word (float's 16) or one byte (double's 8) of the array, read as such.
template <class T>
inline xsimd::batch<T> sign_batch_aligned(const std::uint16_t* words, std::size_t b) {
  using B = xsimd::batch<T>;
#if defined(__AVX512F__)
  if constexpr (B::size == 16 && std::is_same_v<T, float>)
    return B(_mm512_mask_blend_ps(static_cast<__mmask16>(words[b / 16]), _mm512_set1_ps(-1.0f), _mm512_set1_ps(1.0f)));
  if constexpr (B::size == 8 && std::is_same_v<T, double>)  // (bit b of the array: bit b % 8 of its byte b / 8)
    return B(_mm512_mask_blend_pd(static_cast<__mmask8>(reinterpret_cast<const std::uint8_t*>(words)[b / 8]),
                                  _mm512_set1_pd(-1.0), _mm512_set1_pd(1.0)));
#endif
  return sign_batch<T>(words, b);
}

}  // namespace tapir::kernels
