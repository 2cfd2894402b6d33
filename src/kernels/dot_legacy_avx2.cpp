// Placeholder: filled in by the kernel work.
#include "kernels/dot_register.h"

namespace trident {
void register_legacy_avx2(KernelTable&) {}
}  // namespace trident
