// SHA-256 (FIPS 180-4) of a byte buffer, as lowercase hex: the tests compare dequantized tensors
// with digests recorded from llama.cpp (tests/data/types/README.md).
#pragma once
#include <cstddef>
#include <string>

namespace trident::test {

std::string sha256_hex(const void* data, size_t n);

}  // namespace trident::test
