// The random streams of synth's two fillers (synth.cpp's fast bell-shaped draws for real
// shapes, synth_skeleton.cpp's normal draws for skeletons): a stream per (seed, tensor name),
// so any tensor's values are the same whatever else the file holds.
#pragma once
#include <cstdint>
#include <string_view>

namespace trident {

// splitmix64: advances `state` and returns its next well-mixed 64-bit value.
inline uint64_t splitmix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// 64-bit FNV-1a of a tensor name, from FNV's offset basis unless another start is given.
inline uint64_t fnv1a(std::string_view s, uint64_t basis = 0xcbf29ce484222325ull) {
  uint64_t h = basis;
  for (unsigned char c : s) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

}  // namespace trident
