// softmax.wgsl: softmax over the last axis with a fused scale and an optional causal mask, the
// attention probabilities of torch's softmax(scale * S + causalMask, dim=-1).
//
//   softmaxForward:  y[r, j] = exp(scale x[r, j] - m) / sum_k exp(scale x[r, k] - m) over the kept
//                    columns k, m = max_k scale x[r, k] (kept k); masked columns get y = 0 exactly
//   softmaxBackward: dX[r, j] = scale y[r, j] (dY[r, j] - sum_k y[r, k] dY[r, k])
//
// Layout: x, y, dY, dX are [rows, L] row-major. Causal: rows is a multiple of L (a stack of
// [T, T] score matrices, T = L), row r is query t = r % L and keeps the columns j <= t (mask
// -inf above the diagonal). Stable for scores of +-1e4: exp only sees arguments <= 0 (the max is
// subtracted; Goodfellow et al., Deep Learning, sec. 4.1). Backward: d softmax_j / d z_k =
// y_j ([j == k] - y_k), so dZ = y (dY - <y, dY>) and dX = scale dZ; masked columns have y = 0,
// add nothing to <y, dY> and get dX = 0 (a signed zero) without being told about the mask.
// One invocation per row, its columns in a serial, fixed order (deterministic): L is 16..256 in
// attention, rows = batch * heads * T is many thousands, so rows alone fill the device; a causal
// row stops at its diagonal. Grids spill into y past 65535 workgroups (linearWorkgroup).
// Overrides: workgroupSize.

override workgroupSize: u32 = 64u; // invocations (rows) per workgroup

struct Params {
  rows: u32, // rows of the [rows, L] matrices, batch * heads * T for attention
  L: u32, // columns per row (keys)
  scale: f32, // multiplies x before the softmax (1/sqrt(headDim) in attention); > 0
  causal: u32, // forward only: 1 keeps columns j <= r % L of row r, 0 keeps all; backward ignores it
}

// ---- forward
@group(0) @binding(0) var<storage, read> x: array<f32>; // [rows, L] scores
@group(0) @binding(1) var<storage, read_write> y: array<f32>; // [rows, L] probabilities
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(workgroupSize)
fn softmaxForward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                  @builtin(local_invocation_index) lid: u32) {
  let row = linearWorkgroup(wid, nwg) * workgroupSize + lid;
  if (row >= params.rows) {
    return;
  }
  let base = row * params.L;
  let s = params.scale;
  // Columns [0, kept) take part; a causal row r is query t = r % L and keeps j <= t.
  let kept = select(params.L, row % params.L + 1u, params.causal != 0u);
  // scale > 0 and rounding is monotonic, so the max of the rounded products is the product of
  // the max: scale x - rowMax is <= 0 for every kept column.
  var rowMax = s * x[base];
  for (var j = 1u; j < kept; j++) {
    rowMax = max(rowMax, s * x[base + j]);
  }
  // exp into y, summed in column order; the max's own term is exp(0) ~ 1, so sumExp >= ~1.
  var sumExp = 0.0;
  for (var j = 0u; j < kept; j++) {
    let e = exp(s * x[base + j] - rowMax);
    y[base + j] = e;
    sumExp += e;
  }
  // Divide rather than multiply by 1/sumExp: one rounding (2.5 ulp in WGSL) instead of two.
  for (var j = 0u; j < kept; j++) {
    y[base + j] = y[base + j] / sumExp;
  }
  for (var j = kept; j < params.L; j++) {
    y[base + j] = 0.0;
  }
}

// ---- backward
@group(0) @binding(0) var<storage, read> savedY: array<f32>; // [rows, L] the forward's y
@group(0) @binding(1) var<storage, read> dY: array<f32>; // [rows, L] dL/dy
@group(0) @binding(2) var<storage, read_write> dX: array<f32>; // [rows, L] dL/dx
@group(0) @binding(3) var<uniform> backwardParams: Params;

@compute @workgroup_size(workgroupSize)
fn softmaxBackward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                   @builtin(local_invocation_index) lid: u32) {
  let row = linearWorkgroup(wid, nwg) * workgroupSize + lid;
  if (row >= backwardParams.rows) {
    return;
  }
  let base = row * backwardParams.L;
  // <y, dY>: the row's mean of dY under the probabilities y, summed in column order.
  var weighted = 0.0;
  for (var j = 0u; j < backwardParams.L; j++) {
    weighted += savedY[base + j] * dY[base + j];
  }
  for (var j = 0u; j < backwardParams.L; j++) {
    dX[base + j] = backwardParams.scale * savedY[base + j] * (dY[base + j] - weighted);
  }
}
