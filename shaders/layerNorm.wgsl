// layerNorm.wgsl: torch.nn.LayerNorm over the last axis, with elementwise affine, and its gradient.
//
//   layerNormForward:        mean[r] = sum_d x[r, d] / D,  var[r] = sum_d (x[r, d] - mean[r])^2 / D
//                            (biased, as torch), rstd[r] = 1 / sqrt(var[r] + eps),
//                            y[r, d] = (x[r, d] - mean[r]) rstd[r] weight[d] + bias[d]
//   layerNormBackwardData:   xhat = (x - mean) rstd, g = dY weight,
//                            dX[r, d] = rstd[r] (g - mean_d(g) - xhat mean_d(g xhat))
//   layerNormBackwardParams: dWeight[d] = sum_r dY[r, d] xhat[r, d],  dBias[d] = sum_r dY[r, d]
//
// Layout: x, y, dY, dX are [rows, D] row-major (rows = batch * tokens); weight, bias, dWeight,
// dBias are [D]; mean and rstd are [rows], kept from the forward for the backward.
// The variance is two-pass (the mean, then the squared deviations from it), never
// E[x^2] - E[x]^2, which cancels catastrophically in float32 when |mean| >> std.
// Forward and BackwardData: one invocation per row, its D values in a serial, fixed order: D is a
// transformer's width (64..1024) and rows are thousands, so rows alone fill the device, and on a
// CPU Vulkan driver a lane per row beats a workgroup tree (no barriers). BackwardParams: one
// invocation per column d summing the rows in order r = 0, 1, ...: deterministic, no atomics.
// Grids spill into y past 65535 workgroups (linearWorkgroup).
// Overrides: workgroupSize.

override workgroupSize: u32 = 64u; // invocations (rows, or columns) per workgroup

struct Params {
  rows: u32, // rows of [rows, D]
  D: u32, // the normalized (last) axis
  eps: f32, // added to the variance before the square root (torch's default 1e-5); unused backward
}

// ---- forward
@group(0) @binding(0) var<storage, read> x: array<f32>; // [rows, D]
@group(0) @binding(1) var<storage, read> weight: array<f32>; // [D]
@group(0) @binding(2) var<storage, read> bias: array<f32>; // [D]
@group(0) @binding(3) var<storage, read_write> y: array<f32>; // [rows, D]
@group(0) @binding(4) var<storage, read_write> mean: array<f32>; // [rows]
@group(0) @binding(5) var<storage, read_write> rstd: array<f32>; // [rows]
@group(0) @binding(6) var<uniform> params: Params;

@compute @workgroup_size(workgroupSize)
fn layerNormForward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                    @builtin(local_invocation_index) lid: u32) {
  let row = linearWorkgroup(wid, nwg) * workgroupSize + lid;
  if (row >= params.rows) {
    return;
  }
  let base = row * params.D;
  let count = f32(params.D);
  var total = 0.0;
  for (var d = 0u; d < params.D; d++) {
    total += x[base + d];
  }
  let rowMean = total / count;
  var squares = 0.0;
  for (var d = 0u; d < params.D; d++) {
    let deviation = x[base + d] - rowMean;
    squares += deviation * deviation;
  }
  let rowRstd = inverseSqrt(squares / count + params.eps);
  for (var d = 0u; d < params.D; d++) {
    y[base + d] = (x[base + d] - rowMean) * rowRstd * weight[d] + bias[d];
  }
  mean[row] = rowMean;
  rstd[row] = rowRstd;
}

// ---- backward, dX
@group(0) @binding(0) var<storage, read> xSaved: array<f32>; // [rows, D] the forward's x
@group(0) @binding(1) var<storage, read> weightSaved: array<f32>; // [D]
@group(0) @binding(2) var<storage, read> meanSaved: array<f32>; // [rows]
@group(0) @binding(3) var<storage, read> rstdSaved: array<f32>; // [rows]
@group(0) @binding(4) var<storage, read> dY: array<f32>; // [rows, D] dL/dy
@group(0) @binding(5) var<storage, read_write> dX: array<f32>; // [rows, D] dL/dx
@group(0) @binding(6) var<uniform> dataParams: Params;

@compute @workgroup_size(workgroupSize)
fn layerNormBackwardData(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                         @builtin(local_invocation_index) lid: u32) {
  let row = linearWorkgroup(wid, nwg) * workgroupSize + lid;
  if (row >= dataParams.rows) {
    return;
  }
  let base = row * dataParams.D;
  let rowMean = meanSaved[row];
  let rowRstd = rstdSaved[row];
  // the two row means of the gradient formula, summed in column order
  var gradSum = 0.0;
  var gradXhatSum = 0.0;
  for (var d = 0u; d < dataParams.D; d++) {
    let g = dY[base + d] * weightSaved[d];
    gradSum += g;
    gradXhatSum += g * (xSaved[base + d] - rowMean) * rowRstd;
  }
  let count = f32(dataParams.D);
  let gradMean = gradSum / count;
  let gradXhatMean = gradXhatSum / count;
  for (var d = 0u; d < dataParams.D; d++) {
    let xhat = (xSaved[base + d] - rowMean) * rowRstd;
    let g = dY[base + d] * weightSaved[d];
    dX[base + d] = rowRstd * (g - gradMean - xhat * gradXhatMean);
  }
}

// ---- backward, dWeight and dBias
@group(0) @binding(0) var<storage, read> xParams: array<f32>; // [rows, D] the forward's x
@group(0) @binding(1) var<storage, read> meanParams: array<f32>; // [rows]
@group(0) @binding(2) var<storage, read> rstdParams: array<f32>; // [rows]
@group(0) @binding(3) var<storage, read> dYParams: array<f32>; // [rows, D] dL/dy
@group(0) @binding(4) var<storage, read_write> dWeight: array<f32>; // [D]
@group(0) @binding(5) var<storage, read_write> dBias: array<f32>; // [D]
@group(0) @binding(6) var<uniform> paramsParams: Params;

@compute @workgroup_size(workgroupSize)
fn layerNormBackwardParams(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                           @builtin(local_invocation_index) lid: u32) {
  let column = linearWorkgroup(wid, nwg) * workgroupSize + lid;
  if (column >= paramsParams.D) {
    return;
  }
  var weightSum = 0.0;
  var biasSum = 0.0;
  for (var r = 0u; r < paramsParams.rows; r++) {
    let i = r * paramsParams.D + column;
    let xhat = (xParams[i] - meanParams[r]) * rstdParams[r];
    weightSum += dYParams[i] * xhat;
    biasSum += dYParams[i];
  }
  dWeight[column] = weightSum;
  dBias[column] = biasSum;
}
