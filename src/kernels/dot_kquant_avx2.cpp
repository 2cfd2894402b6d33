// Placeholder: filled in by the kernel work.
#include "kernels/dot_register.h"

namespace trident {
void register_kquant_avx2(KernelTable&) {}
}  // namespace trident
