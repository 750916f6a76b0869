// bias.wgsl: per-channel bias, fused with an activation, and its gradient.
//
//   biasAddForward: x[n,c,s] = f(x[n,c,s] + bias[c])    in place, f = the activation override
//   biasBackward:   dBias[c] = sum_{n,s} dOut[n,c,s]     (dOut = dL/d(x + bias), before f)
//
// Layout [N, C, S] row-major, S the spatial size (H*W after a convolution, 1 after a dense layer).
// Forward: one invocation per element, channel c = (i / S) % C; the grid spills into y past 65535
// workgroups. Backward: one workgroup per channel (grid spills into y the same way); each
// invocation sums a strided part of the channel's N*S values (biasBackwardQuads: 4 at a time),
// then a tree reduction in workgroup memory halves the partial sums log2(workgroupSize) times
// with a barrier between steps. The order of additions is fixed, so the result is deterministic
// without atomics. How many lanes share a channel is the wrapper's choice per adapter.
// biasBackwardSerial: one invocation per channel, for channels of at most a few hundred terms;
// biasBackwardRowQuads: the same for dense rows (S = 1), 4 adjacent channels per invocation.
// Overrides: workgroupSize (biasBackward: a power of two <= maxWorkgroupSize, for the tree),
// activation.

// Largest workgroupSize biasBackward supports: its workgroup array has a fixed length, since
// the race detector (wgsl_reflect) cannot size a workgroup array from an override.
const maxWorkgroupSize: u32 = 256u;
override workgroupSize: u32 = 256u; // invocations per workgroup; biasBackward: a power of two <= 256
override activation: u32 = ACT_NONE; // applied after the add: ACT_NONE, ACT_RELU, ACT_SIGMOID, ACT_TANH

struct Params {
  N: u32, // batch size
  C: u32, // channels (the bias length)
  S: u32, // spatial size per channel: H*W, or 1 for dense layers
}

// ---- forward
@group(0) @binding(0) var<storage, read> bias: array<f32>; // [C]
@group(0) @binding(1) var<storage, read_write> x: array<f32>; // [N, C, S], updated in place
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(workgroupSize)
fn biasAddForward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                  @builtin(local_invocation_index) lid: u32) {
  let i = linearWorkgroup(wid, nwg) * workgroupSize + lid;
  if (i >= params.N * params.C * params.S) {
    return;
  }
  let c = (i / params.S) % params.C;
  x[i] = activate(x[i] + bias[c], activation);
}

// ---- backward
@group(0) @binding(0) var<storage, read> dOut: array<f32>; // [N, C, S], dL/d(x + bias)
@group(0) @binding(1) var<storage, read_write> dBias: array<f32>; // [C]
@group(0) @binding(2) var<uniform> backwardParams: Params;

var<workgroup> partialSums: array<f32, maxWorkgroupSize>; // one partial sum per invocation

// The workgroup's sum of every lane's `value`, complete in lane 0. Tree: each step folds the
// upper half of the live slots onto the lower half; the barrier orders each step's reads after
// the last writes. Call in uniform control flow.
fn workgroupSum(lid: u32, value: f32) -> f32 {
  partialSums[lid] = value;
  workgroupBarrier();
  for (var stride = workgroupSize / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) {
      partialSums[lid] += partialSums[lid + stride];
    }
    workgroupBarrier();
  }
  return partialSums[0];
}

@compute @workgroup_size(workgroupSize)
fn biasBackward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                @builtin(local_invocation_index) lid: u32) {
  let c = linearWorkgroup(wid, nwg);
  // The whole workgroup shares c, so this return keeps the barriers below in uniform control flow.
  if (c >= backwardParams.C) {
    return;
  }
  // The lanes tile the channel's [N, S] block: lanesPerRow lanes share a row n (its s values
  // strided by lanesPerRow), rowsPerStep rows at a time. Two divisions per lane, none per element
  // (integer division is slow on a CPU "GPU"); a row narrower than the workgroup leaves
  // workgroupSize % S lanes idle.
  let spatial = backwardParams.S;
  let lanesPerRow = min(spatial, workgroupSize);
  let rowsPerStep = workgroupSize / lanesPerRow;
  let laneRow = lid / lanesPerRow;
  let laneCol = lid % lanesPerRow;
  var acc = 0.0;
  if (laneRow < rowsPerStep) {
    for (var n = laneRow; n < backwardParams.N; n += rowsPerStep) {
      let rowStart = (n * backwardParams.C + c) * spatial;
      for (var s = laneCol; s < spatial; s += lanesPerRow) {
        acc += dOut[rowStart + s];
      }
    }
  }
  let total = workgroupSum(lid, acc);
  if (lid == 0u) {
    dBias[c] = total;
  }
}

// ---- backward, vec4 reads
@group(0) @binding(0) var<storage, read> dOutQuads: array<vec4f>; // [N, C, S / 4] (S % 4 == 0)
@group(0) @binding(1) var<storage, read_write> dBiasQuads: array<f32>; // [C]
@group(0) @binding(2) var<uniform> quadsParams: Params;

// biasBackward reading 4 terms per load (S % 4 == 0): the lanes tile the channel's [N, S / 4]
// vec4s as biasBackward tiles its [N, S] values, and each folds its vec4 before the tree. A CPU "GPU" pays per load (lavapipe
// splits each into per-lane scalar loads with bounds checks), a GPU per 16-byte transaction.
@compute @workgroup_size(workgroupSize)
fn biasBackwardQuads(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                     @builtin(local_invocation_index) lid: u32) {
  let c = linearWorkgroup(wid, nwg);
  if (c >= quadsParams.C) {
    return;
  }
  let quads = quadsParams.S / 4u;
  let lanesPerRow = min(quads, workgroupSize);
  let rowsPerStep = workgroupSize / lanesPerRow;
  let laneRow = lid / lanesPerRow;
  let laneCol = lid % lanesPerRow;
  var acc = vec4f(0.0);
  if (laneRow < rowsPerStep) {
    for (var n = laneRow; n < quadsParams.N; n += rowsPerStep) {
      let rowStart = (n * quadsParams.C + c) * quads;
      for (var q = laneCol; q < quads; q += lanesPerRow) {
        acc += dOutQuads[rowStart + q];
      }
    }
  }
  let total = workgroupSum(lid, (acc.x + acc.y) + (acc.z + acc.w));
  if (lid == 0u) {
    dBiasQuads[c] = total;
  }
}

// ---- backward, one invocation per channel
@group(0) @binding(0) var<storage, read> dOutSmall: array<f32>; // [N, C, S], dL/d(x + bias)
@group(0) @binding(1) var<storage, read_write> dBiasSmall: array<f32>; // [C]
@group(0) @binding(2) var<uniform> serialParams: Params;

// biasBackward for channels of few terms (a dense layer's N*S = batch): one invocation sums its
// channel's N*S values in order (n outer, s inner), with no workgroup memory or barriers, which
// cost more than the adds when a channel has only tens of terms.
@compute @workgroup_size(workgroupSize)
fn biasBackwardSerial(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                      @builtin(local_invocation_index) lid: u32) {
  let c = linearWorkgroup(wid, nwg) * workgroupSize + lid;
  let p = serialParams;
  if (c >= p.C) {
    return;
  }
  var acc = 0.0;
  for (var n = 0u; n < p.N; n++) {
    let rowStart = (n * p.C + c) * p.S;
    for (var s = 0u; s < p.S; s++) {
      acc += dOutSmall[rowStart + s];
    }
  }
  dBiasSmall[c] = acc;
}

// ---- backward, one invocation per 4 channels of dense rows (S = 1, C % 4 == 0)
@group(0) @binding(0) var<storage, read> dOutRowQuads: array<vec4f>; // [N, C / 4]
@group(0) @binding(1) var<storage, read_write> dBiasRowQuads: array<vec4f>; // [C / 4]
@group(0) @binding(2) var<uniform> rowQuadsParams: Params;

// biasBackwardSerial for dense rows of a multiple of 4 channels: each invocation sums 4 adjacent
// channels, one vec4 load per row where the serial loop makes 4 scalar ones (lavapipe splits every
// load into per-lane scalar code). Each channel's terms are added in the same order (n from 0),
// so the sums are the serial loop's, bit for bit.
@compute @workgroup_size(workgroupSize)
fn biasBackwardRowQuads(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                        @builtin(local_invocation_index) lid: u32) {
  let q = linearWorkgroup(wid, nwg) * workgroupSize + lid;
  let p = rowQuadsParams;
  let quads = p.C / 4u;
  if (q >= quads) {
    return;
  }
  var acc = vec4f(0.0);
  for (var n = 0u; n < p.N; n++) {
    acc += dOutRowQuads[n * quads + q];
  }
  dBiasRowQuads[q] = acc;
}
