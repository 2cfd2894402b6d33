// Model skeletons: a GGUF's metadata and tensor table without its weights, so a test can keep
// a reference for an architecture in a few kilobytes and rebuild the full file at test time.
//
// A skeleton is a GGUF with every key of the original plus `trident.skeleton.tensors`, one
// string "name type ne0,ne1,..." per tensor, and no tensors. `synth_from_skeleton` writes the
// original's metadata and tensors filled with seeded values drawn as llama.cpp's
// test-llama-archs draws its random models (normal, mean 0, std 0.01; F32 and F16 only), from a
// generator of our own so the bytes are the same on every platform. Tensors the architecture row
// lists in skeleton_inits (gemma4's rope factors and output scales) get that value plus the draw.
#pragma once
#include <cstdint>
#include <string>

namespace trident {

inline constexpr const char* kSkeletonKey = "trident.skeleton.tensors";

// Throws Error naming the file for an unreadable model or a tensor type other than F32/F16.
void write_skeleton(const std::string& model_path, const std::string& out_path, bool overwrite);
// Throws Error naming the skeleton and the entry for a malformed skeleton.
void synth_from_skeleton(const std::string& skeleton_path, uint64_t seed, const std::string& out_path,
                         bool overwrite);

}  // namespace trident
