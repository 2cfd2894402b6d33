#include "kernels/dispatch.h"

#include <cpuid.h>

#include <atomic>
#include <cstring>

#include "kernels/attention_impl.h"
#include "kernels/dot_register.h"

namespace trident {

// F16C and AVX from CPUID leaf 1 (ECX bits 29 and 28) with the OS saving the YMM state (OSXSAVE,
// bit 27, and XCR0's SSE and AVX bits): clang 14, which builds the fuzz targets, does not know
// __builtin_cpu_supports("f16c").
bool cpu_has_f16c() {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return false;
  const bool f16c = c & (1u << 29), avx = c & (1u << 28), osxsave = c & (1u << 27);
  if (!(f16c && avx && osxsave)) return false;
  unsigned lo, hi;
  __asm__("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (lo & 6u) == 6u;
}

namespace {

KernelTable build_scalar() {
  KernelTable t;
  t.isa = "scalar";
  register_legacy_scalar(t);
  register_kquant_scalar(t);
  register_packed_scalar(t);
  register_nonlinear_scalar(t);
  register_lowbit_scalar(t);
  register_grid_scalar(t);
  return t;
}

bool cpu_has_avx2() {
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && cpu_has_f16c() &&
         __builtin_cpu_supports("bmi2");
}
bool cpu_has_avx512() {
  return cpu_has_avx2() && __builtin_cpu_supports("avx512f") &&
         __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
         __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vnni") &&
         __builtin_cpu_supports("avx512bf16");
}

// A SIMD table is only built on a CPU that supports it: its register functions are compiled
// with that ISA's flags and may themselves use its instructions.
struct Tables {
  KernelTable scalar = build_scalar();
  bool has_avx2 = cpu_has_avx2();
  bool has_avx512 = cpu_has_avx512();
  KernelTable avx2 = has_avx2 ? make_avx2_kernel_table(scalar) : scalar;
  KernelTable avx512 = has_avx512 ? make_avx512_kernel_table(avx2) : scalar;
};
const Tables& tables() {
  static const Tables t;
  return t;
}

std::atomic<const KernelTable*> g_selected{nullptr};

}  // namespace

KernelTable make_avx2_kernel_table(const KernelTable& base) {
  KernelTable t = base;
  t.isa = "avx2";
  register_legacy_avx2(t);
  register_kquant_avx2(t);
  register_packed_avx2(t);
  register_packed_float_avx2(t);
  register_packed_kquant_avx2(t);
  register_packed_nonlinear_avx2(t);
  register_packed_lowbit_avx2(t);
  register_grid_avx2(t);
  register_packed_grid_avx2(t);
  register_attention_avx2(t);
  register_act_avx2(t);
  register_recurrent_avx2(t);
  return t;
}

KernelTable make_avx512_kernel_table(const KernelTable& base) {
  KernelTable t = base;
  t.isa = "avx512";
  register_legacy_avx512(t);
  register_kquant_avx512(t);
  register_packed_avx512(t);
  register_packed_kquant_avx512(t);
  register_packed_nonlinear_avx512(t);
  register_packed_lowbit_avx512(t);
  register_packed_grid_avx512(t);
  register_packed_float_avx512(t);
  register_attention_avx512(t);
  register_act_avx512(t);
  register_recurrent_avx512(t);
  return t;
}

const KernelTable& scalar_kernel_table() { return tables().scalar; }

std::vector<const KernelTable*> supported_kernel_tables() {
  std::vector<const KernelTable*> v{&tables().scalar};
  if (tables().has_avx2) v.push_back(&tables().avx2);
  if (tables().has_avx512) v.push_back(&tables().avx512);
  return v;
}

const KernelTable& kernel_table() {
  const KernelTable* t = g_selected.load(std::memory_order_acquire);
  if (!t) {
    t = supported_kernel_tables().back();
    g_selected.store(t, std::memory_order_release);
  }
  return *t;
}

bool select_kernel_table(const char* isa) {
  for (const KernelTable* t : supported_kernel_tables())
    if (std::strcmp(t->isa, isa) == 0) {
      g_selected.store(t, std::memory_order_release);
      return true;
    }
  return false;
}

}  // namespace trident
