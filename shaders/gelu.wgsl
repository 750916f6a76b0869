// gelu.wgsl: torch.nn.GELU, y = x·Φ(x), and its gradient from the input x (GELU is not invertible,
// so unlike activation.wgsl the backward cannot work from y).
//
//   geluForward:  'none' (approximate = 0): y = 0.5 x (1 + erf(x / sqrt 2))
//                 'tanh' (approximate = 1): y = 0.5 x (1 + tanh(u)), u = sqrt(2/pi) (x + 0.044715 x^3)
//   geluBackward: 'none': dX = dY (Φ(x) + x φ(x)), φ(x) = exp(-x^2 / 2) / sqrt(2 pi)
//                 'tanh': dX = dY (0.5 (1 + tanh u) + 0.5 x (1 - tanh^2 u) sqrt(2/pi) (1 + 3·0.044715 x^2))
//
// WGSL has no erf, so erfApprox is written here, in two pieces split at |v| = 1:
// - |v| < 1: erf(v) = v·P(v^2), P of degree 6, so small inputs keep a small relative error;
// - |v| >= 1: erf(v) = 1 - t·R(t)·exp(-v^2), t = 1 / (1 + 0.525 |v|), R of degree 4: the form
//   of Abramowitz & Stegun, Handbook of Mathematical Functions (1964), formula 7.1.26 (Hastings).
// Both sets of coefficients are our own minimax fits (Lawson's iteration on the absolute error
// against mpmath's erf, |v| in [0, 1] and [1, 10]): within 5.8e-10 of erf in float64, against
// 1.5e-7 for A&S 7.1.26's own five coefficients. In float32 the rounding dominates: ~1.2e-7
// absolute near |v| = 1, ~1.6e-7 relative below. Odd-extended to v < 0; for large |v|
// exp(-v^2) underflows to 0 and erf is exactly +-1. src/kernels/gelu.cpu.ts evaluates the same
// formula, so it is the GPU's spec. tanh is common.wgsl's stableTanh (clamped, no inf/inf).
// Layout: flat tensors of any shape, PER_INVOCATION (4) consecutive elements per invocation, and
// erf's two pieces both computed and selected rather than branched on: on lavapipe (one SIMD lane
// per invocation) that halved the time of 524,288 elements (forward 6.2 -> 2.7 ms, backward
// 7.5 -> 3.0 ms, 2026-12-04), with the same bits per element. The form is an override, so each
// has its own pipeline and no per-element branch on it. Grids spill into y past 65535 workgroups.
// Overrides: workgroupSize, approximate.

override workgroupSize: u32 = 256u; // invocations per workgroup
override approximate: u32 = 0u; // 0: the exact (erf) form, torch's default; 1: the tanh form

const PER_INVOCATION: u32 = 4u; // consecutive elements per invocation
const SQRT_HALF: f32 = 0.70710678118654752; // 1 / sqrt(2)
const SQRT_2_OVER_PI: f32 = 0.79788456080286536; // sqrt(2 / pi)
const INV_SQRT_2PI: f32 = 0.39894228040143268; // 1 / sqrt(2 pi)
const TANH_CUBIC: f32 = 0.044715; // the tanh form's cubic coefficient

struct Params {
  count: u32, // elements
}

// erf(v): v·P(v^2) below 1, 1 - t·R(t)·exp(-v^2) above (see the header).
fn erfApprox(erfIn: f32) -> f32 {
  let a = abs(erfIn);
  // Both pieces, then a select: no branch, so the lanes of a SIMD group never diverge on |v| < 1.
  let s = erfIn * erfIn;
  let small = erfIn * (1.12837915841 + s * (-0.37612605985 + s * (0.11283430117 + s * (-0.0268485912537
    + s * (0.00517974943532 + s * (-0.000794235532168 + s * 7.64711442796e-5))))));
  let t = 1.0 / (1.0 + 0.525 * a);
  let r = 0.29257754789 + t * (0.333186906316 + t * (0.104099631592 + t * (0.477997127804
    + t * -0.208416713802)));
  let large = sign(erfIn) * (1.0 - t * r * exp(-a * a));
  return select(large, small, a < 1.0);
}

fn tanhArgument(tanhX: f32) -> f32 {
  return SQRT_2_OVER_PI * (tanhX + TANH_CUBIC * tanhX * tanhX * tanhX);
}

fn geluOf(gx: f32) -> f32 {
  if (approximate == 1u) {
    return 0.5 * gx * (1.0 + stableTanh(tanhArgument(gx)));
  }
  return 0.5 * gx * (1.0 + erfApprox(gx * SQRT_HALF));
}

fn geluSlope(sx: f32) -> f32 {
  if (approximate == 1u) {
    let th = stableTanh(tanhArgument(sx));
    let du = SQRT_2_OVER_PI * (1.0 + 3.0 * TANH_CUBIC * sx * sx);
    // sech^2 u = 1 - tanh^2 u is exactly 0 once tanh saturates, where du may be inf (x^2
    // overflows past |x| ~ 1.8e19): 0·inf would be NaN, the limit is 0
    let sech2 = 1.0 - th * th;
    return 0.5 * (1.0 + th) + select(0.0, 0.5 * sx * sech2 * du, sech2 > 0.0);
  }
  let cdf = 0.5 * (1.0 + erfApprox(sx * SQRT_HALF));
  return cdf + sx * INV_SQRT_2PI * exp(-0.5 * sx * sx);
}

// ---- forward
@group(0) @binding(0) var<storage, read> x: array<f32>; // input
@group(0) @binding(1) var<storage, read_write> y: array<f32>; // gelu(x)
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(workgroupSize)
fn geluForward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
               @builtin(local_invocation_index) lid: u32) {
  let first = (linearWorkgroup(wid, nwg) * workgroupSize + lid) * PER_INVOCATION;
  for (var i = first; i < min(first + PER_INVOCATION, params.count); i++) {
    y[i] = geluOf(x[i]);
  }
}

// ---- backward
@group(0) @binding(0) var<storage, read> xIn: array<f32>; // the forward's input
@group(0) @binding(1) var<storage, read> dY: array<f32>; // dL/dy
@group(0) @binding(2) var<storage, read_write> dX: array<f32>; // dL/dx
@group(0) @binding(3) var<uniform> backwardParams: Params;

@compute @workgroup_size(workgroupSize)
fn geluBackward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                @builtin(local_invocation_index) lid: u32) {
  let first = (linearWorkgroup(wid, nwg) * workgroupSize + lid) * PER_INVOCATION;
  for (var i = first; i < min(first + PER_INVOCATION, backwardParams.count); i++) {
    dX[i] = dY[i] * geluSlope(xIn[i]);
  }
}
