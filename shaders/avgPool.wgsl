// avgPool.wgsl: 2-D average pooling over NCHW tensors and its gradient.
//
//   avgPoolForward:  out[n,c,oh,ow] = (1 / (KH*KW)) * sum over kh < KH, kw < KW of
//                                     x[n,c,oh*strideH+kh, ow*strideW+kw]
//   avgPoolBackward: dX[n,c,h,w] = (1 / (KH*KW)) * sum of dOut[n,c,oh,ow] over the windows
//                                  covering (h,w)   (d mean / d x = 1 / (KH*KW) in the window)
//
// Layout: x, dX [N, C, H, W]; out, dOut [N, C, OH, OW]; no padding, floor mode
// (OH = floor((H - KH) / strideH) + 1, like PyTorch), so rows/columns past the last window get 0.
// Forward: one invocation per output element, summing its window in row-major order. Backward
// is a gather, one invocation per input element over the (at most ceil(KH/strideH) *
// ceil(KW/strideW)) windows that cover it, so overlapping windows (stride < kernel) need no
// atomics and the sum order is fixed. The grid spills into y past 65535 workgroups
// (linearWorkgroup in common.wgsl).
// avgPoolForwardPairs / avgPoolBackwardPairs: the same results for 2x2 windows of stride 2 over an
// even width (the reference CNN's pools), one invocation per output row, input rows read and
// written as vec2 pairs (a window's row is one pair) and no division per element.
// Overrides: workgroupSize (threads per workgroup).

override workgroupSize: u32 = 256u; // invocations per workgroup

// Params: PoolParams in common.wgsl, shared with the other pooling family.

// ---- forward
@group(0) @binding(0) var<storage, read> x: array<f32>; // input [N, C, H, W]
@group(0) @binding(1) var<storage, read_write> out: array<f32>; // window means [N, C, OH, OW]
@group(0) @binding(2) var<uniform> params: PoolParams;

@compute @workgroup_size(workgroupSize)
fn avgPoolForward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                  @builtin(local_invocation_index) lid: u32) {
  let o = linearWorkgroup(wid, nwg) * workgroupSize + lid;
  let outPlane = params.OH * params.OW;
  if (o >= params.N * params.C * outPlane) {
    return;
  }
  let plane = o / outPlane; // n * C + c
  let h0 = ((o % outPlane) / params.OW) * params.strideH;
  let w0 = (o % params.OW) * params.strideW;
  let planeStart = plane * params.H * params.W;
  var sum = 0.0;
  for (var kh = 0u; kh < params.KH; kh++) {
    for (var kw = 0u; kw < params.KW; kw++) {
      sum += x[planeStart + (h0 + kh) * params.W + w0 + kw];
    }
  }
  out[o] = sum / f32(params.KH * params.KW);
}

// ---- backward
@group(0) @binding(0) var<storage, read> dOut: array<f32>; // dL/dout [N, C, OH, OW]
@group(0) @binding(1) var<storage, read_write> dX: array<f32>; // dL/dx [N, C, H, W]
@group(0) @binding(2) var<uniform> backwardParams: PoolParams;

@compute @workgroup_size(workgroupSize)
fn avgPoolBackward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                   @builtin(local_invocation_index) lid: u32) {
  let i = linearWorkgroup(wid, nwg) * workgroupSize + lid;
  let p = backwardParams;
  let inPlane = p.H * p.W;
  if (i >= p.N * p.C * inPlane) {
    return;
  }
  let plane = i / inPlane;
  let rows = coveringWindows((i % inPlane) / p.W, p.KH, p.strideH, p.OH);
  let cols = coveringWindows(i % p.W, p.KW, p.strideW, p.OW);
  let outStart = plane * p.OH * p.OW;
  var sum = 0.0;
  for (var oh = rows.x; oh < rows.y; oh++) {
    for (var ow = cols.x; ow < cols.y; ow++) {
      sum += dOut[outStart + oh * p.OW + ow];
    }
  }
  dX[i] = sum / f32(p.KH * p.KW);
}

// ---- 2x2 windows of stride 2, W even: one invocation per output row, input rows as pairs
@group(0) @binding(0) var<storage, read> xPairs: array<vec2f>; // x [N, C, H, W / 2] as vec2s

// avgPoolForward's sums in its order (kh outer, kw inner) and its division, so the same bits.
@compute @workgroup_size(workgroupSize)
fn avgPoolForwardPairs(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                       @builtin(local_invocation_index) lid: u32) {
  let row = linearWorkgroup(wid, nwg) * workgroupSize + lid; // n * C * OH + c * OH + oh
  if (row >= params.N * params.C * params.OH) {
    return;
  }
  let pairsPerRow = params.W / 2u;
  let upperRow = pairsUpperRow(params, row);
  for (var ow = 0u; ow < params.OW; ow++) {
    let upper = xPairs[upperRow + ow];
    let lower = xPairs[upperRow + pairsPerRow + ow];
    var sum = 0.0;
    sum += upper.x;
    sum += upper.y;
    sum += lower.x;
    sum += lower.y;
    out[row * params.OW + ow] = sum / f32(params.KH * params.KW);
  }
}

@group(0) @binding(1) var<storage, read_write> dXPairs: array<vec2f>; // dX [N, C, H, W / 2]

// avgPoolBackward's value for every element of a window (its one covering window: 0 + dOut, then
// the division), written as one pair per window row; with an odd H the last output row also
// zeroes the input row no window covers (avgPoolBackward's 0 / 4).
@compute @workgroup_size(workgroupSize)
fn avgPoolBackwardPairs(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                        @builtin(local_invocation_index) lid: u32) {
  let row = linearWorkgroup(wid, nwg) * workgroupSize + lid; // n * C * OH + c * OH + oh
  let p = backwardParams;
  if (row >= p.N * p.C * p.OH) {
    return;
  }
  let pairsPerRow = p.W / 2u;
  let upperRow = pairsUpperRow(p, row);
  for (var ow = 0u; ow < p.OW; ow++) {
    var sum = 0.0;
    sum += dOut[row * p.OW + ow];
    let share = vec2f(sum / f32(p.KH * p.KW));
    dXPairs[upperRow + ow] = share;
    dXPairs[upperRow + pairsPerRow + ow] = share;
  }
  let uncovered = uncoveredPairs(p, row);
  for (var i = uncovered.x; i < uncovered.y; i++) {
    dXPairs[i] = vec2f(0.0);
  }
}
