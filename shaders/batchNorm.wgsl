// batchNorm.wgsl: batch normalization (torch.nn.BatchNorm1d/2d) and its training-mode gradient.
//
//   batchNormStats:          mean[c] = sum x / M,  variance[c] = sum (x - mean[c])^2 / M  (biased)
//   batchNormForward:        y = f((x - mean[c]) * invStd[c] * weight[c] + bias[c]),
//                            invStd[c] = 1 / sqrt(variance[c] + eps), f = the activation override
//   batchNormRunningUpdate:  runningMean = (1 - momentum) runningMean + momentum mean,
//                            runningVar = (1 - momentum) runningVar + momentum variance M/(M - 1)
//   batchNormBackwardReduce: dBias[c] = sum dY,  dWeight[c] = sum dY * xhat,
//                            xhat = (x - mean[c]) * invStd[c]  (dY = dL/d(y before f))
//   batchNormBackwardData:   dX = weight[c] invStd[c] (dY - dBias[c]/M - xhat dWeight[c]/M)
//
// Layout: x, y, dY, dX are [N, C, S] row-major (S = H*W for images, 1 after a dense layer); the
// per-channel tensors are [C]. M = N*S values per channel. The sums run over n and s.
// Reductions (Stats, BackwardReduce): one workgroup per channel, the grid spilling into y past
// 65535 workgroups. Each lane sums a fixed tile of the channel's [N, S] block, then a tree in
// workgroup memory halves the partial sums with a barrier between steps: a fixed order of
// additions, so the results are deterministic without atomics. Stats makes two such passes: the
// mean, then the squared deviations from it (never E[x^2] - E[x]^2, which cancels catastrophically
// in float32 when |mean| >> std). Pass two also sums the deviations themselves, zero but for the
// rounding of pass one's mean, and uses that sum to correct the mean and the variance: the
// "corrected two-pass algorithm" (Chan, Golub & LeVeque, The American Statistician, 1983).
// The *Serial variants run one invocation per channel (no workgroup memory), for channels of few
// values (a dense layer: M = the batch), where a workgroup's barriers cost more than the adds.
// Elementwise entry points (Forward, BackwardData, RunningUpdate): one invocation per element or
// channel.
// Overrides: workgroupSize (Stats, BackwardReduce: a power of two <= maxWorkgroupSize, for the
// tree), activation (Forward).

// Largest workgroupSize of the tree entry points: the workgroup array has a fixed length, since
// the race detector (wgsl_reflect) cannot size a workgroup array from an override.
const maxWorkgroupSize: u32 = 256u;
override workgroupSize: u32 = 256u; // invocations per workgroup; trees: a power of 2 <= 256
override activation: u32 = ACT_NONE; // Forward, after the affine map: ACT_NONE/RELU/SIGMOID/TANH

// Stats and the running update take no eps, so they have their own Params.
struct StatsParams {
  N: u32, // batch size
  C: u32, // channels
  S: u32, // spatial size per channel: H*W, or 1 for BatchNorm1d
}

struct Params {
  N: u32, // batch size
  C: u32, // channels
  S: u32, // spatial size per channel: H*W, or 1 for BatchNorm1d
  eps: f32, // added to the variance before the square root (torch's default 1e-5)
}

struct RunningParams {
  C: u32, // channels
  count: u32, // values per channel in the batch, M = N*S >= 2 (for the unbiased variance)
  momentum: f32, // weight of the batch statistics in the running average (torch's default 0.1)
}

// Local and parameter names below never repeat a binding name: wgsl_reflect resolves identifiers
// by name, so a local `mean` would make every entry point look as if it bound `mean`.

// ---- tree reductions, shared
// In the tree entry points every value that differs between lanes is computed inline: no user
// function returns one. wgsl_reflect's race detector steps the lanes in turn and keeps a single
// return value per function, so a per-lane return would read another lane's value there.
// (workgroupTotal returns the same total to every lane.)

// Two partial sums per lane: (sum, 0) then (sum d, sum d^2) in Stats, (dBias, dWeight sums) in
// BackwardReduce.
var<workgroup> partialSums: array<vec2f, maxWorkgroupSize>;

// Stores the lane's partial sums and folds all of them into the workgroup's total, returned to
// every lane. Each tree step adds the upper half of the live slots onto the lower half; the
// barriers order each step's reads after the previous step's writes. Call from uniform control
// flow only, with every lane of the workgroup.
fn workgroupTotal(lane: u32, laneSums: vec2f) -> vec2f {
  partialSums[lane] = laneSums;
  workgroupBarrier();
  for (var stride = workgroupSize / 2u; stride > 0u; stride /= 2u) {
    if (lane < stride) {
      partialSums[lane] += partialSums[lane + stride];
    }
    workgroupBarrier();
  }
  let total = partialSums[0];
  // Every lane has read the total before any lane stores the next pass's partial sum.
  workgroupBarrier();
  return total;
}

// The lane tile: which values of channel chan's [N, S] block lane lid sums in a tree entry point.
// lanesPerRow = min(S, workgroupSize) lanes share a row n (its s values strided by lanesPerRow),
// rowsPerStep = workgroupSize / lanesPerRow rows at a time. Two divisions per lane, none per
// element (integer division is slow on a CPU "GPU"). A row narrower than the workgroup leaves
// workgroupSize % S lanes idle: they start past the last row.

// ---- statistics
@group(0) @binding(0) var<storage, read> x: array<f32>; // [N, C, S] input
@group(0) @binding(1) var<storage, read_write> mean: array<f32>; // [C] batch mean
@group(0) @binding(2) var<storage, read_write> variance: array<f32>; // [C] biased batch variance
@group(0) @binding(3) var<uniform> statsParams: StatsParams;

// Corrected two-pass: with e = sum d / M (zero in exact arithmetic), the mean is centre + e and
// the variance about it is sum d^2 / M - e^2, a correction of second order, never a cancellation.
fn storeStats(chan: u32, centre: f32, deviationSums: vec2f) {
  let m = f32(statsParams.N * statsParams.S);
  let e = deviationSums.x / m;
  mean[chan] = centre + e;
  variance[chan] = max(deviationSums.y / m - e * e, 0.0);
}

@compute @workgroup_size(workgroupSize)
fn batchNormStats(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                  @builtin(local_invocation_index) lid: u32) {
  let chan = linearWorkgroup(wid, nwg);
  let p = statsParams;
  // The whole workgroup shares chan, so this return keeps the barriers in uniform control flow.
  if (chan >= p.C) {
    return;
  }
  let lanesPerRow = min(p.S, workgroupSize); // the lane tile (see above)
  let rowsPerStep = workgroupSize / lanesPerRow;
  let firstRow = select(lid / lanesPerRow, p.N, lid / lanesPerRow >= rowsPerStep);
  let firstCol = lid % lanesPerRow;
  // Pass 1: the mean.
  var sum = 0.0;
  for (var n = firstRow; n < p.N; n += rowsPerStep) {
    let rowStart = (n * p.C + chan) * p.S;
    for (var s = firstCol; s < p.S; s += lanesPerRow) {
      sum += x[rowStart + s];
    }
  }
  let centre = workgroupTotal(lid, vec2f(sum, 0.0)).x / f32(p.N * p.S);
  // Pass 2: the deviations d = x - centre and their squares.
  var deviations = vec2f(0.0);
  for (var n = firstRow; n < p.N; n += rowsPerStep) {
    let rowStart = (n * p.C + chan) * p.S;
    for (var s = firstCol; s < p.S; s += lanesPerRow) {
      let d = x[rowStart + s] - centre;
      deviations += vec2f(d, d * d);
    }
  }
  let totals = workgroupTotal(lid, deviations);
  if (lid == 0u) {
    storeStats(chan, centre, totals);
  }
}

// One invocation per channel: the same two passes over the channel in order, n outer, s inner.
@compute @workgroup_size(workgroupSize)
fn batchNormStatsSerial(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                        @builtin(local_invocation_index) lid: u32) {
  let chan = linearWorkgroup(wid, nwg) * workgroupSize + lid;
  let p = statsParams;
  if (chan >= p.C) {
    return;
  }
  var sum = 0.0;
  for (var n = 0u; n < p.N; n++) {
    let rowStart = (n * p.C + chan) * p.S;
    for (var s = 0u; s < p.S; s++) {
      sum += x[rowStart + s];
    }
  }
  let centre = sum / f32(p.N * p.S);
  var deviations = vec2f(0.0);
  for (var n = 0u; n < p.N; n++) {
    let rowStart = (n * p.C + chan) * p.S;
    for (var s = 0u; s < p.S; s++) {
      let d = x[rowStart + s] - centre;
      deviations += vec2f(d, d * d);
    }
  }
  storeStats(chan, centre, deviations);
}

// ---- forward
// binding 0: x, declared with the statistics (the same input, read-only, in the same slot)
@group(0) @binding(1) var<storage, read> normMean: array<f32>; // [C] batch or running mean
@group(0) @binding(2) var<storage, read> normVariance: array<f32>; // [C] batch or running var
@group(0) @binding(3) var<storage, read> weight: array<f32>; // [C] gamma
@group(0) @binding(4) var<storage, read> bias: array<f32>; // [C] beta
@group(0) @binding(5) var<storage, read_write> y: array<f32>; // [N, C, S] output
@group(0) @binding(6) var<uniform> params: Params;

@compute @workgroup_size(workgroupSize)
fn batchNormForward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                    @builtin(local_invocation_index) lid: u32) {
  let i = linearWorkgroup(wid, nwg) * workgroupSize + lid;
  if (i >= params.N * params.C * params.S) {
    return;
  }
  let chan = (i / params.S) % params.C;
  let scale = weight[chan] * inverseSqrt(normVariance[chan] + params.eps);
  y[i] = activate((x[i] - normMean[chan]) * scale + bias[chan], activation);
}

// ---- forward by rows (S % 4 == 0)
// One workgroup per row (n, c) of S values, its lanes striding over the row's S / 4 vec4s. The
// row, and so the channel and its four values, is the same for the whole workgroup: no lane
// divides (batchNormForward pays `(i / S) % C` per element, a scalar loop per lane on a CPU
// "GPU") and every load moves 4 values. Same arithmetic as batchNormForward, so the same bits.
@group(0) @binding(0) var<storage, read> xQuads: array<vec4f>; // x [N, C, S] as vec4s
@group(0) @binding(5) var<storage, read_write> yQuads: array<vec4f>; // y [N, C, S] as vec4s

@compute @workgroup_size(workgroupSize)
fn batchNormForwardRows(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                        @builtin(local_invocation_index) lid: u32) {
  let row = linearWorkgroup(wid, nwg); // n * C + c
  if (row >= params.N * params.C) {
    return;
  }
  let chan = row % params.C;
  let scale = weight[chan] * inverseSqrt(normVariance[chan] + params.eps);
  let centre = normMean[chan];
  let shift = bias[chan];
  let quads = params.S / 4u;
  for (var q = lid; q < quads; q += workgroupSize) {
    let pre = (xQuads[row * quads + q] - centre) * scale + shift;
    yQuads[row * quads + q] = vec4f(activate(pre.x, activation), activate(pre.y, activation),
                                    activate(pre.z, activation), activate(pre.w, activation));
  }
}

// ---- running statistics
@group(0) @binding(0) var<storage, read> batchMean: array<f32>; // [C] from batchNormStats
@group(0) @binding(1) var<storage, read> batchVariance: array<f32>; // [C] biased, from Stats
@group(0) @binding(2) var<storage, read_write> runningMean: array<f32>; // [C] updated in place
@group(0) @binding(3) var<storage, read_write> runningVar: array<f32>; // [C] updated in place
@group(0) @binding(4) var<uniform> runningParams: RunningParams;

@compute @workgroup_size(workgroupSize)
fn batchNormRunningUpdate(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                          @builtin(local_invocation_index) lid: u32) {
  let chan = linearWorkgroup(wid, nwg) * workgroupSize + lid;
  let p = runningParams;
  if (chan >= p.C) {
    return;
  }
  // torch keeps the unbiased variance: the biased one times M / (M - 1) (Bessel's correction).
  let unbiased = batchVariance[chan] * f32(p.count) / f32(p.count - 1u);
  runningMean[chan] = mix(runningMean[chan], batchMean[chan], p.momentum);
  runningVar[chan] = mix(runningVar[chan], unbiased, p.momentum);
}

// ---- backward
// binding 0: x, declared with the statistics
@group(0) @binding(1) var<storage, read> dY: array<f32>; // [N, C, S] dL/d(y before f)
@group(0) @binding(2) var<storage, read> savedMean: array<f32>; // [C] the forward's batch mean
@group(0) @binding(3) var<storage, read> savedVariance: array<f32>; // [C] its biased variance
@group(0) @binding(4) var<storage, read_write> dWeight: array<f32>; // [C] sum dY * xhat
@group(0) @binding(5) var<storage, read_write> dBias: array<f32>; // [C] sum dY
@group(0) @binding(6) var<uniform> backwardParams: Params;

// dBias = sum dY; dWeight = invStd * sum dY (x - mean), invStd applied once, after the sum.
fn storeParamGradients(chan: u32, sums: vec2f) {
  dBias[chan] = sums.x;
  dWeight[chan] = sums.y * inverseSqrt(savedVariance[chan] + backwardParams.eps);
}

@compute @workgroup_size(workgroupSize)
fn batchNormBackwardReduce(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                           @builtin(local_invocation_index) lid: u32) {
  let chan = linearWorkgroup(wid, nwg);
  let p = backwardParams;
  // The whole workgroup shares chan, so this return keeps the barriers in uniform control flow.
  if (chan >= p.C) {
    return;
  }
  let lanesPerRow = min(p.S, workgroupSize); // the lane tile, as in batchNormStats
  let rowsPerStep = workgroupSize / lanesPerRow;
  let firstRow = select(lid / lanesPerRow, p.N, lid / lanesPerRow >= rowsPerStep);
  let firstCol = lid % lanesPerRow;
  let centre = savedMean[chan];
  var sums = vec2f(0.0);
  for (var n = firstRow; n < p.N; n += rowsPerStep) {
    let rowStart = (n * p.C + chan) * p.S;
    for (var s = firstCol; s < p.S; s += lanesPerRow) {
      let g = dY[rowStart + s];
      sums += vec2f(g, g * (x[rowStart + s] - centre));
    }
  }
  let totals = workgroupTotal(lid, sums);
  if (lid == 0u) {
    storeParamGradients(chan, totals);
  }
}

// One invocation per channel, summing in order, n outer, s inner.
@compute @workgroup_size(workgroupSize)
fn batchNormBackwardReduceSerial(@builtin(workgroup_id) wid: vec3u,
                                 @builtin(num_workgroups) nwg: vec3u,
                                 @builtin(local_invocation_index) lid: u32) {
  let chan = linearWorkgroup(wid, nwg) * workgroupSize + lid;
  let p = backwardParams;
  if (chan >= p.C) {
    return;
  }
  let centre = savedMean[chan];
  var sums = vec2f(0.0);
  for (var n = 0u; n < p.N; n++) {
    let rowStart = (n * p.C + chan) * p.S;
    for (var s = 0u; s < p.S; s++) {
      let g = dY[rowStart + s];
      sums += vec2f(g, g * (x[rowStart + s] - centre));
    }
  }
  storeParamGradients(chan, sums);
}

// bindings 0-3: x, dY, savedMean, savedVariance, as in the reduction
@group(0) @binding(4) var<storage, read> dataWeight: array<f32>; // [C] gamma
@group(0) @binding(5) var<storage, read> dWeightSum: array<f32>; // [C] from BackwardReduce
@group(0) @binding(6) var<storage, read> dBiasSum: array<f32>; // [C] from BackwardReduce
@group(0) @binding(7) var<storage, read_write> dX: array<f32>; // [N, C, S] dL/dx
@group(0) @binding(8) var<uniform> dataParams: Params;

// Through the batch statistics every x of the channel moves every xhat, hence the two means:
// dX = weight invStd (dY - mean(dY) - xhat mean(dY xhat)).
@compute @workgroup_size(workgroupSize)
fn batchNormBackwardData(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                         @builtin(local_invocation_index) lid: u32) {
  let i = linearWorkgroup(wid, nwg) * workgroupSize + lid;
  let p = dataParams;
  if (i >= p.N * p.C * p.S) {
    return;
  }
  let chan = (i / p.S) % p.C;
  let m = f32(p.N * p.S);
  let invStd = inverseSqrt(savedVariance[chan] + p.eps);
  let xhat = (x[i] - savedMean[chan]) * invStd;
  let meanTerms = dBiasSum[chan] / m + xhat * (dWeightSum[chan] / m);
  dX[i] = dataWeight[chan] * invStd * (dY[i] - meanTerms);
}

// batchNormBackwardData by rows (S % 4 == 0), as batchNormForwardRows: one workgroup per row.
@group(0) @binding(1) var<storage, read> dYQuads: array<vec4f>; // dY [N, C, S] as vec4s
@group(0) @binding(7) var<storage, read_write> dXQuads: array<vec4f>; // dX [N, C, S] as vec4s

@compute @workgroup_size(workgroupSize)
fn batchNormBackwardDataRows(@builtin(workgroup_id) wid: vec3u,
                             @builtin(num_workgroups) nwg: vec3u,
                             @builtin(local_invocation_index) lid: u32) {
  let row = linearWorkgroup(wid, nwg); // n * C + c
  let p = dataParams;
  if (row >= p.N * p.C) {
    return;
  }
  let chan = row % p.C;
  let m = f32(p.N * p.S);
  let invStd = inverseSqrt(savedVariance[chan] + p.eps);
  let centre = savedMean[chan];
  let meanDY = dBiasSum[chan] / m;
  let meanDYXhat = dWeightSum[chan] / m;
  let gain = dataWeight[chan] * invStd;
  let quads = p.S / 4u;
  for (var q = lid; q < quads; q += workgroupSize) {
    let at = row * quads + q;
    let xhat = (xQuads[at] - centre) * invStd;
    let meanTerms = meanDY + xhat * meanDYXhat;
    dXQuads[at] = gain * (dYQuads[at] - meanTerms);
  }
}
