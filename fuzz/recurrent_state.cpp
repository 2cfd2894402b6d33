// Fuzz target: restore a recurrent-state byte stream (runtime/recurrent_state.cpp) into a small
// hybrid stack (a delta-net layer, an attention layer, a Mamba-2 layer). Anything but a valid
// stream must be refused with Error and leave the state as it was; a valid one must save back
// to the same bytes, and its delta-net state must run a step.
// Corpus (fuzz/corpus/recurrent_state/, written by fuzz/make_corpus.py): valid is a stream of
// this stack with every float i * 0.001 (i its index); the others are it cut short, emptied, or
// with one header field changed.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "format/error.h"
#include "kernels/recurrent.h"
#include "runtime/recurrent_state.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace trident;
  static RecurrentState state({delta_net_layer_shape(1, 2, 16, 8, 4), RecurrentLayerShape{},
                               mamba2_layer_shape(32, 2, 1, 16, 4)});
  state.reset();
  const std::vector<uint8_t> before = state.save();
  try {
    state.restore({data, size}, "fuzz input");
  } catch (const Error&) {
    if (state.save() != before) std::abort();  // a refused stream changed the state
    return 0;
  }
  if (state.save() != std::vector<uint8_t>(data, data + size)) std::abort();
  // One delta-net step reads and writes the restored state.
  std::vector<float> qk(32, 0.25f), v(16, 1.0f), g(2, -0.5f), beta(2, 0.5f), out(16);
  delta_net(DeltaNet{2, 1, 16, 8}, DeltaNetRows{qk.data(), 32, qk.data() + 16, 32, v.data(), 16, g.data(), beta.data(), 2,
                                                out.data(), 16, 1, state.ssm(0)},
            nullptr);
  return 0;
}
