#include "growth/models/attention.h"

#include <ATen/Parallel.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/custom_function.h>

#include <cmath>
#include <vector>

namespace sprout::growth {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

// The shapes of one call: N examples, T tokens, H heads of dimension D.
struct Shape {
  int64_t n, t, h, d;
  int64_t qkv_row() const { return h * 3 * d; }  // floats per token in qkv
  int64_t y_row() const { return h * d; }        // floats per token in y
};

Shape shape_of(const torch::Tensor& qkv, int64_t head_dim) {
  return {qkv.size(0), qkv.size(1), qkv.size(2) / (3 * head_dim), head_dim};
}

// The products are vector × matrix: out[j] = Σ_r x[r]·m[r][j] for j < n, eight outputs at a
// time held in registers across r (a local array of eight the compiler maps onto vector
// registers) while x[r] is broadcast: no dependency through memory, nothing to reduce
// across lanes. The matrices are scratch copies whose rows are padded to a multiple of
// eight, so every group of eight columns may be read (the lanes past n are computed and
// dropped). A (T×T) problem is far too small for a BLAS call, or ATen's batched matmul
// (one BLAS call per matrix), to pay off.
#define SPROUT_INLINE inline __attribute__((always_inline))
constexpr int64_t kLanes = 8;

int64_t padded(int64_t n) { return (n + kLanes - 1) / kLanes * kLanes; }

template <typename S>
SPROUT_INLINE void vec_mat(S* __restrict__ out, const S* __restrict__ x, const S* __restrict__ m, int64_t rows,
                           int64_t ld, int64_t n, S scale) {
  for (int64_t j0 = 0; j0 < n; j0 += kLanes) {
    S acc[kLanes] = {};
    for (int64_t r = 0; r < rows; ++r) {
      const S xr = x[r];
      const S* mr = m + r * ld + j0;
      for (int64_t l = 0; l < kLanes; ++l) acc[l] += xr * mr[l];
    }
    const int64_t w = std::min(kLanes, n - j0);
    for (int64_t l = 0; l < w; ++l) out[j0 + l] = acc[l] * scale;
  }
}

// exp(x) in place for x <= 0 (a softmax row less its maximum). float: Cephes' expf — the
// power of two nearest to x·log2(e) goes into the exponent bits, a degree-5 polynomial
// covers the rest — within a few ulp of std::exp and a plain loop the compiler vectorises
// (std::exp is one library call per value, about a tenth of the whole forward). Below −87
// the result stays at e^−87 (≈1.6e−38) instead of underflowing: negligible next to the
// row's maximum, whose exp is 1. double: std::exp.
SPROUT_INLINE void exp_nonpositive(float* __restrict__ x, int64_t n) {
  for (int64_t j = 0; j < n; ++j) {
    const float xj = x[j];
    const float v = xj < -87.0f ? -87.0f : xj;
    const int32_t k = static_cast<int32_t>(v * 1.44269504088896341f - 0.5f);  // v <= 0: rounds to nearest
    const float kf = static_cast<float>(k);
    const float r = v - kf * 0.693359375f + kf * 2.12194440e-4f;  // v − k·ln 2, ln 2 in two parts
    float y = 1.9875691500e-4f;
    y = y * r + 1.3981999507e-3f;
    y = y * r + 8.3334519073e-3f;
    y = y * r + 4.1665795894e-2f;
    y = y * r + 1.6666665459e-1f;
    y = y * r + 5.0000001201e-1f;
    y = y * r * r + r + 1.0f;
    x[j] = y * __builtin_bit_cast(float, (k + 127) << 23);  // y·2^k
  }
}
SPROUT_INLINE void exp_nonpositive(double* __restrict__ x, int64_t n) {
  for (int64_t j = 0; j < n; ++j) x[j] = std::exp(x[j]);
}

// Scratch of one task, reused for every problem it runs.
template <typename S>
struct Scratch {
  int64_t tp, dp;                 // T and D padded to a multiple of kLanes
  std::vector<S> a, b, c, d, e;  // transposes and padded copies (see the users)
  Scratch(const Shape& s) : tp(padded(s.t)), dp(padded(s.d)) {
    const auto big = static_cast<size_t>(std::max(s.d * tp, s.t * dp)), sq = static_cast<size_t>(s.t * tp);
    for (auto* v : {&a, &b, &c}) v->assign(big, S(0));
    for (auto* v : {&d, &e}) v->assign(std::max(sq, big), S(0));
  }
};

// m (rows × ld): row r = src row r's first `cols` values (src rows `stride` apart).
template <typename S>
SPROUT_INLINE void copy_rows(S* m, int64_t ld, const S* src, int64_t stride, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) std::copy(src + r * stride, src + r * stride + cols, m + r * ld);
}
// m (cols × ld): the transpose of src's rows × cols block.
template <typename S>
SPROUT_INLINE void copy_transposed(S* m, int64_t ld, const S* src, int64_t stride, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) m[c * ld + r] = src[r * stride + c];
  }
}

// Forward of problem (n, h): p (T×T) = softmax(q kᵀ·scale) row by row, y = p v.
template <typename S>
SPROUT_INLINE void forward_one(const S* qkv, S* y, S* p, Scratch<S>& w, const Shape& s, int64_t n, int64_t h,
                               S scale) {
  const int64_t T = s.t, D = s.d, row = s.qkv_row();
  const S* base = qkv + n * T * row + h * 3 * D;  // token 0's q of head h
  S* kt = w.a.data();                             // kᵀ: D × tp
  S* v = w.b.data();                              // v: T × dp
  copy_transposed(kt, w.tp, base + D, row, T, D);
  copy_rows(v, w.dp, base + 2 * D, row, T, D);
  for (int64_t i = 0; i < T; ++i) {
    S* pi = p + i * T;
    vec_mat(pi, base + i * row, kt, D, w.tp, T, scale);
    S top = pi[0];
    for (int64_t j = 1; j < T; ++j) top = std::max(top, pi[j]);
    for (int64_t j = 0; j < T; ++j) pi[j] -= top;
    exp_nonpositive(pi, T);
    S sum = 0;
    for (int64_t j = 0; j < T; ++j) sum += pi[j];
    const S inv = S(1) / sum;
    for (int64_t j = 0; j < T; ++j) pi[j] *= inv;
    vec_mat(y + (n * T + i) * s.y_row() + h * D, pi, v, T, w.dp, D, S(1));
  }
}

// Backward of problem (n, h) from dy: writes its q, k, v columns of dqkv (every row).
//   dp = g vᵀ;  ds = p ∘ (dp − rowsum(p ∘ dp))·scale;  dq = ds k;  dk = dsᵀ q;  dv = pᵀ g
template <typename S>
SPROUT_INLINE void backward_one(const S* qkv, const S* p, const S* dy, S* dqkv, Scratch<S>& w, const Shape& s,
                                int64_t n, int64_t h, S scale) {
  const int64_t T = s.t, D = s.d, row = s.qkv_row();
  const int64_t offset = n * T * row + h * 3 * D;
  const S* base = qkv + offset;
  S* dbase = dqkv + offset;
  const S* g = dy + n * T * s.y_row() + h * D;
  S* vt = w.a.data();  // vᵀ: D × tp, then k: T × dp
  S* q = w.b.data();   // q: T × dp
  S* gp = w.c.data();  // g: T × dp
  S* ds = w.d.data();  // ds: T × tp
  S* t = w.e.data();   // dsᵀ, then pᵀ: T × tp
  copy_transposed(vt, w.tp, base + 2 * D, row, T, D);
  copy_rows(q, w.dp, base, row, T, D);
  copy_rows(gp, w.dp, g, s.y_row(), T, D);
  for (int64_t i = 0; i < T; ++i) {
    const S* pi = p + i * T;
    S* dsi = ds + i * w.tp;
    vec_mat(dsi, g + i * s.y_row(), vt, D, w.tp, T, S(1));
    S c = 0;
    for (int64_t j = 0; j < T; ++j) c += pi[j] * dsi[j];
    for (int64_t j = 0; j < T; ++j) dsi[j] = pi[j] * (dsi[j] - c) * scale;
  }
  S* k = vt;  // vᵀ is no longer needed
  copy_rows(k, w.dp, base + D, row, T, D);
  for (int64_t i = 0; i < T; ++i) vec_mat(dbase + i * row, ds + i * w.tp, k, T, w.dp, D, S(1));  // dq
  copy_transposed(t, w.tp, ds, w.tp, T, T);
  for (int64_t j = 0; j < T; ++j) vec_mat(dbase + j * row + D, t + j * w.tp, q, T, w.dp, D, S(1));  // dk
  copy_transposed(t, w.tp, p, T, T, T);
  for (int64_t j = 0; j < T; ++j) vec_mat(dbase + j * row + 2 * D, t + j * w.tp, gp, T, w.dp, D, S(1));  // dv
}

// Ranges of problems [lo, hi), compiled for AVX2 too: the loader picks the CPU's best
// (GCC function multiversioning), so the binary still runs on any x86-64.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define SPROUT_KERNEL_TARGETS __attribute__((target_clones("avx2", "default")))
#else
#define SPROUT_KERNEL_TARGETS
#endif

template <typename S>
SPROUT_INLINE void forward_range(const S* qkv, S* y, S* p, const Shape& s, S scale, int64_t lo, int64_t hi) {
  Scratch<S> w(s);
  for (int64_t b = lo; b < hi; ++b) forward_one(qkv, y, p + b * s.t * s.t, w, s, b / s.h, b % s.h, scale);
}
template <typename S>
SPROUT_INLINE void backward_range(const S* qkv, const S* p, const S* dy, S* dqkv, const Shape& s, S scale,
                                  int64_t lo, int64_t hi) {
  Scratch<S> w(s);
  for (int64_t b = lo; b < hi; ++b) backward_one(qkv, p + b * s.t * s.t, dy, dqkv, w, s, b / s.h, b % s.h, scale);
}

SPROUT_KERNEL_TARGETS void forward_problems(const float* qkv, float* y, float* p, const Shape& s, float scale,
                                            int64_t lo, int64_t hi) {
  forward_range(qkv, y, p, s, scale, lo, hi);
}
SPROUT_KERNEL_TARGETS void forward_problems(const double* qkv, double* y, double* p, const Shape& s, double scale,
                                            int64_t lo, int64_t hi) {
  forward_range(qkv, y, p, s, scale, lo, hi);
}
SPROUT_KERNEL_TARGETS void backward_problems(const float* qkv, const float* p, const float* dy, float* dqkv,
                                             const Shape& s, float scale, int64_t lo, int64_t hi) {
  backward_range(qkv, p, dy, dqkv, s, scale, lo, hi);
}
SPROUT_KERNEL_TARGETS void backward_problems(const double* qkv, const double* p, const double* dy, double* dqkv,
                                             const Shape& s, double scale, int64_t lo, int64_t hi) {
  backward_range(qkv, p, dy, dqkv, s, scale, lo, hi);
}

// Problems per parallel task: enough work to amortise a task (one thread: no split at all).
constexpr int64_t kProblemsPerTask = 16;

// Returns y, and p (N, H, T, T): the attention weights that backward reads.
std::pair<torch::Tensor, torch::Tensor> fused_forward(const torch::Tensor& qkv_in, int64_t head_dim) {
  const auto qkv = qkv_in.contiguous();
  const Shape s = shape_of(qkv, head_dim);
  auto y = at::empty({s.n, s.t, s.y_row()}, qkv.options());
  auto p = at::empty({s.n, s.h, s.t, s.t}, qkv.options());
  AT_DISPATCH_FLOATING_TYPES(qkv.scalar_type(), "sprout_attention_forward", [&] {
    const auto scale = static_cast<scalar_t>(1.0 / std::sqrt(static_cast<double>(s.d)));
    const scalar_t* in = qkv.data_ptr<scalar_t>();
    scalar_t* out = y.data_ptr<scalar_t>();
    scalar_t* weights = p.data_ptr<scalar_t>();
    at::parallel_for(0, s.n * s.h, kProblemsPerTask,
                     [&](int64_t lo, int64_t hi) { forward_problems(in, out, weights, s, scale, lo, hi); });
  });
  return {y, p};
}

torch::Tensor fused_backward(const torch::Tensor& qkv, const torch::Tensor& p, const torch::Tensor& dy_in,
                             int64_t head_dim) {
  const auto dy = dy_in.contiguous();
  const Shape s = shape_of(qkv, head_dim);
  auto dqkv = at::empty_like(qkv, at::MemoryFormat::Contiguous);
  AT_DISPATCH_FLOATING_TYPES(qkv.scalar_type(), "sprout_attention_backward", [&] {
    const auto scale = static_cast<scalar_t>(1.0 / std::sqrt(static_cast<double>(s.d)));
    const scalar_t* in = qkv.data_ptr<scalar_t>();
    const scalar_t* weights = p.data_ptr<scalar_t>();
    const scalar_t* g = dy.data_ptr<scalar_t>();
    scalar_t* out = dqkv.data_ptr<scalar_t>();
    at::parallel_for(0, s.n * s.h, kProblemsPerTask,
                     [&](int64_t lo, int64_t hi) { backward_problems(in, weights, g, out, s, scale, lo, hi); });
  });
  return dqkv;
}

class FusedAttention : public torch::autograd::Function<FusedAttention> {
 public:
  static torch::Tensor forward(AutogradContext* ctx, const torch::Tensor& qkv, int64_t head_dim) {
    auto [y, p] = fused_forward(qkv, head_dim);
    ctx->save_for_backward({qkv, p});  // the input itself: it keeps its history for create_graph
    ctx->saved_data["head_dim"] = head_dim;
    return y;
  }

  static variable_list backward(AutogradContext* ctx, variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const int64_t head_dim = ctx->saved_data["head_dim"].toInt();
    if (at::GradMode::is_enabled()) {
      // create_graph: the gradient must itself be differentiable; the reference's is.
      // Differentiating the reference at the saved input links it to the input's history.
      const auto& qkv = saved[0];
      auto y = attention_core_reference(qkv, head_dim);
      return {torch::autograd::grad({y}, {qkv}, {grads[0]}, /*retain_graph=*/true, /*create_graph=*/true)[0],
              torch::Tensor()};
    }
    return {fused_backward(saved[0].contiguous(), saved[1], grads[0], head_dim), torch::Tensor()};
  }
};

bool fused_applies(const torch::Tensor& qkv) {
  const auto type = qkv.scalar_type();
  return qkv.device().is_cpu() && qkv.layout() == torch::kStrided && qkv.dim() == 3 &&
         (type == torch::kFloat || type == torch::kDouble) && qkv.numel() > 0;
}

}  // namespace

torch::Tensor attention_core_reference(const torch::Tensor& qkv_in, int64_t head_dim) {
  const int64_t n = qkv_in.size(0), t = qkv_in.size(1), heads = qkv_in.size(2) / (3 * head_dim);
  const auto qkv = qkv_in.reshape({n, t, heads, 3, head_dim}).permute({3, 0, 2, 1, 4});  // (3, N, H, T, d)
  const auto q = qkv[0], k = qkv[1], v = qkv[2];
  const auto w = at::softmax(at::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(head_dim)), -1);
  return at::matmul(w, v).transpose(1, 2).reshape({n, t, heads * head_dim});  // (N, T, H·d)
}

torch::Tensor attention_core(const torch::Tensor& qkv, int64_t head_dim) {
  TORCH_CHECK(qkv.dim() == 3 && head_dim >= 1 && qkv.size(2) % (3 * head_dim) == 0, "attention_core: qkv of shape ",
              qkv.sizes(), " is not (N, T, heads·3·", head_dim, ")");
  if (!fused_applies(qkv)) return attention_core_reference(qkv, head_dim);
  return FusedAttention::apply(qkv, head_dim);
}

}  // namespace sprout::growth
