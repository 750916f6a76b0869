// maxPool.wgsl: 2-D max pooling over NCHW tensors and its gradient.
//
//   maxPoolForward:  out[n,c,oh,ow] = max over kh < KH, kw < KW of x[n,c,oh*strideH+kh, ow*strideW+kw]
//                    argmax[n,c,oh,ow] = flat index h*W + w of that maximum within its (n,c) plane
//   maxPoolBackward: dX[n,c,h,w] = sum of dOut[n,c,oh,ow] over the windows covering (h,w) whose
//                    argmax is h*W + w (the max passes its gradient to the element it chose),
//                    times f'(x[n,c,h,w]) when the override `activation` names the f that
//                    produced x (ReLU before the pool): the layer's dPre in the same pass.
//
// Layout: x, dX [N, C, H, W]; out, argmax, dOut [N, C, OH, OW]; no padding, floor mode
// (OH = floor((H - KH) / strideH) + 1, like PyTorch), so rows/columns past the last window get 0.
// Ties: the FIRST maximum in row-major window order (kh outer, kw inner) wins, by a strict `>`.
// NaN propagates: a NaN in the window is always chosen (the last one if several), which is
// PyTorch's CPU rule `val > maxval || isnan(val)`.
// Forward: one invocation per output row. Backward is a gather: one invocation per input
// row (its covering window rows found once), each element summing over the (at most
// ceil(KH/strideH) * ceil(KW/strideW)) windows that cover it, so overlapping windows
// (stride < kernel) need no atomics and the sum order is fixed.
// The grid spills into y past 65535 workgroups (linearWorkgroup in common.wgsl).
// Fused activation gradient: an element chosen by a window equals that window's output, so
// f'(x) is read from `pooled` (the small output) instead of x. Unchosen elements get 0, as
// f'(x) * 0 gives for finite x. The result equals the unfused
// activationBackward(maxPoolBackward(...)) bit for bit: the same sum, then the same one multiply.
// maxPoolBackwardDisjoint: the same result when windows cannot overlap (stride >= kernel), one
// invocation per output row visiting each window once (the wrapper picks it).
// maxPoolForwardPairs / maxPoolBackwardPairs: the same results for the CNN's 2x2 windows of
// stride 2 over an even width, reading and writing input rows as vec2 pairs (a window's row is
// one pair): half the input loads and dX stores, each of which a CPU "GPU" pays per lane.
// Overrides: workgroupSize (threads per workgroup), activation (backward only).

override workgroupSize: u32 = 256u; // invocations per workgroup
override activation: u32 = ACT_NONE; // backward: the f whose output was pooled, ACT_* codes

// Params: PoolParams in common.wgsl, shared with the other pooling family.

// NaN test on the bits (exponent all ones, mantissa nonzero): `v != v` may be folded away by
// compilers that assume finite math.
fn isNanF32(value: f32) -> bool {
  return (bitcast<u32>(value) & 0x7fffffffu) > 0x7f800000u;
}

// ---- forward
@group(0) @binding(0) var<storage, read> x: array<f32>; // input [N, C, H, W]
@group(0) @binding(1) var<storage, read_write> out: array<f32>; // window maxima [N, C, OH, OW]
@group(0) @binding(2) var<storage, read_write> argmax: array<u32>; // h*W + w of each maximum
@group(0) @binding(3) var<uniform> params: PoolParams;

@compute @workgroup_size(workgroupSize)
fn maxPoolForward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                  @builtin(local_invocation_index) lid: u32) {
  // One invocation per output row (n, c, oh): the divisions are paid once per OW outputs.
  let row = linearWorkgroup(wid, nwg) * workgroupSize + lid;
  if (row >= params.N * params.C * params.OH) {
    return;
  }
  let plane = row / params.OH; // n * C + c
  let oh = row % params.OH;
  let planeStart = plane * params.H * params.W;
  let h0 = oh * params.strideH;
  for (var ow = 0u; ow < params.OW; ow++) {
    let o = row * params.OW + ow;
    let w0 = ow * params.strideW;
    // Start from the window's first element so no -inf constant is needed.
    var bestIndex = h0 * params.W + w0;
    var best = x[planeStart + bestIndex];
    for (var kh = 0u; kh < params.KH; kh++) {
      for (var kw = 0u; kw < params.KW; kw++) {
        let index = (h0 + kh) * params.W + w0 + kw;
        let value = x[planeStart + index];
        if (value > best || isNanF32(value)) { // strict >: the first of equal maxima stays
          best = value;
          bestIndex = index;
        }
      }
    }
    out[o] = best;
    argmax[o] = bestIndex;
  }
}

// ---- backward
@group(0) @binding(0) var<storage, read> dOut: array<f32>; // dL/dout [N, C, OH, OW]
@group(0) @binding(1) var<storage, read> savedArgmax: array<u32>; // the forward's argmax
// The forward's out [N, C, OH, OW] (f' is read from it); unread when activation is ACT_NONE.
@group(0) @binding(2) var<storage, read> pooled: array<f32>;
@group(0) @binding(3) var<storage, read_write> dX: array<f32>; // dL/dx [N, C, H, W] (or dL/dpre)
@group(0) @binding(4) var<uniform> backwardParams: PoolParams;

@compute @workgroup_size(workgroupSize)
fn maxPoolBackward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                   @builtin(local_invocation_index) lid: u32) {
  // One invocation per input row (n, c, h): the covering window rows are found once per row.
  let row = linearWorkgroup(wid, nwg) * workgroupSize + lid;
  let p = backwardParams;
  if (row >= p.N * p.C * p.H) {
    return;
  }
  let plane = row / p.H;
  let h = row % p.H;
  let rows = coveringWindows(h, p.KH, p.strideH, p.OH);
  let outStart = plane * p.OH * p.OW;
  // The windows covering column w, [firstCol, endCol), move right with w: kept up to date by
  // counting instead of two divisions per element (coveringWindows' formula, incrementally).
  var firstCol = 0u;
  var endCol = 0u;
  for (var w = 0u; w < p.W; w++) {
    let index = h * p.W + w; // h*W + w, what argmax stores
    while (firstCol < p.OW && firstCol * p.strideW + p.KW <= w) {
      firstCol++;
    }
    while (endCol < p.OW && endCol * p.strideW <= w) {
      endCol++;
    }
    let cols = vec2u(firstCol, max(firstCol, endCol));
    var sum = 0.0;
    var chosenBy = 0xffffffffu; // a window that chose this element, if any
    for (var oh = rows.x; oh < rows.y; oh++) {
      for (var ow = cols.x; ow < cols.y; ow++) {
        let o = outStart + oh * p.OW + ow;
        if (savedArgmax[o] == index) {
          sum += dOut[o];
          chosenBy = o;
        }
      }
    }
    if (activation != ACT_NONE && chosenBy != 0xffffffffu) {
      sum = activationGrad(pooled[chosenBy], sum, activation);
    }
    dX[row * p.W + w] = sum;
  }
}

// ---- backward for disjoint windows (stride >= kernel on both axes)
@group(0) @binding(0) var<storage, read> dOutDisjoint: array<f32>; // dL/dout [N, C, OH, OW]
@group(0) @binding(1) var<storage, read> argmaxDisjoint: array<u32>; // the forward's argmax
@group(0) @binding(2) var<storage, read> pooledDisjoint: array<f32>; // the forward's out
@group(0) @binding(3) var<storage, read_write> dXDisjoint: array<f32>; // [N, C, H, W]
@group(0) @binding(4) var<uniform> disjointParams: PoolParams;

// The gradient window o sends to the element it chose: dOut, times f' of the pooled value when
// the activation before the pool is fused (see the header).
fn windowGrad(o: u32) -> f32 {
  if (activation != ACT_NONE) {
    return activationGrad(pooledDisjoint[o], dOutDisjoint[o], activation);
  }
  return dOutDisjoint[o];
}

// maxPoolBackward when no element lies in two windows (the CNN's 2x2 stride 2): each element
// gets the gradient of the one window that chose it, or 0. One invocation per output row
// (n, c, oh) writes the input rows oh*strideH .. (oh+1)*strideH - 1 (the last output row also
// the rows after it), window by window: argmax, dOut and f' are read once per window instead of
// once per element, and no division is left in the loops. Every dX element is written once, with
// the same value maxPoolBackward gives (a sum of one term is that term).
@compute @workgroup_size(workgroupSize)
fn maxPoolBackwardDisjoint(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                           @builtin(local_invocation_index) lid: u32) {
  let row = linearWorkgroup(wid, nwg) * workgroupSize + lid; // n * C * OH + c * OH + oh
  let p = disjointParams;
  if (row >= p.N * p.C * p.OH) {
    return;
  }
  let plane = row / p.OH;
  let oh = row % p.OH;
  let h0 = oh * p.strideH;
  let hEnd = select(h0 + p.strideH, p.H, oh + 1u == p.OH); // the last window row takes the rest
  let planeStart = plane * p.H * p.W;
  for (var h = h0; h < hEnd; h++) {
    let inWindowRows = h - h0 < p.KH;
    var w = 0u;
    for (var ow = 0u; ow < p.OW; ow++) {
      let o = row * p.OW + ow;
      let chosen = argmaxDisjoint[o];
      let grad = windowGrad(o);
      let wEnd = select(w + p.strideW, p.W, ow + 1u == p.OW);
      let w0 = w;
      while (w < wEnd) {
        let index = h * p.W + w;
        let inWindow = inWindowRows && w - w0 < p.KW;
        dXDisjoint[planeStart + index] = select(0.0, grad, inWindow && index == chosen);
        w++;
      }
    }
  }
}

// ---- 2x2 windows of stride 2, W even: input rows as pairs
@group(0) @binding(0) var<storage, read> xPairs: array<vec2f>; // x [N, C, H, W / 2] as vec2s

// Whether `value` replaces `best` as a window's maximum: strictly larger, or NaN (see the header).
fn replacesMax(value: f32, best: f32) -> bool {
  return value > best || isNanF32(value);
}

// maxPoolForward for 2x2 windows of stride 2 over an even W: one invocation per output row, each
// window two vec2 loads (its upper and lower pair), visited in the same order (kh outer, kw
// inner) with the same rule, so the same maxima and argmax.
@compute @workgroup_size(workgroupSize)
fn maxPoolForwardPairs(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                       @builtin(local_invocation_index) lid: u32) {
  let row = linearWorkgroup(wid, nwg) * workgroupSize + lid; // n * C * OH + c * OH + oh
  if (row >= params.N * params.C * params.OH) {
    return;
  }
  let oh = row % params.OH;
  let pairsPerRow = params.W / 2u;
  let upperRow = pairsUpperRow(params, row);
  for (var ow = 0u; ow < params.OW; ow++) {
    let upper = xPairs[upperRow + ow];
    let lower = xPairs[upperRow + pairsPerRow + ow];
    let first = 2u * oh * params.W + 2u * ow; // h*W + w of the window's first element
    var best = upper.x; // the window's first element, as in maxPoolForward
    var bestIndex = first;
    if (replacesMax(upper.y, best)) {
      best = upper.y;
      bestIndex = first + 1u;
    }
    if (replacesMax(lower.x, best)) {
      best = lower.x;
      bestIndex = first + params.W;
    }
    if (replacesMax(lower.y, best)) {
      best = lower.y;
      bestIndex = first + params.W + 1u;
    }
    out[row * params.OW + ow] = best;
    argmax[row * params.OW + ow] = bestIndex;
  }
}

@group(0) @binding(3) var<storage, read_write> dXPairs: array<vec2f>; // dX [N, C, H, W / 2]

// The gradient a window sends to its pair starting at h*W + w (index): grad to the element it
// chose, 0 to the other.
fn pairGrad(chosen: u32, index: u32, grad: f32) -> vec2f {
  return vec2f(select(0.0, grad, chosen == index), select(0.0, grad, chosen == index + 1u));
}

// maxPoolBackwardDisjoint for the same windows: one invocation per output row writes its two
// input rows window by window, one vec2 per window and row (argmax, dOut and f' read once per
// window); with an odd H the last output row also zeroes the input row no window covers.
@compute @workgroup_size(workgroupSize)
fn maxPoolBackwardPairs(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                        @builtin(local_invocation_index) lid: u32) {
  let row = linearWorkgroup(wid, nwg) * workgroupSize + lid; // n * C * OH + c * OH + oh
  let p = disjointParams;
  if (row >= p.N * p.C * p.OH) {
    return;
  }
  let oh = row % p.OH;
  let pairsPerRow = p.W / 2u;
  let upperRow = pairsUpperRow(p, row);
  for (var ow = 0u; ow < p.OW; ow++) {
    let o = row * p.OW + ow;
    let chosen = argmaxDisjoint[o];
    let grad = windowGrad(o);
    let first = 2u * oh * p.W + 2u * ow;
    dXPairs[upperRow + ow] = pairGrad(chosen, first, grad);
    dXPairs[upperRow + pairsPerRow + ow] = pairGrad(chosen, first + p.W, grad);
  }
  let uncovered = uncoveredPairs(p, row);
  for (var i = uncovered.x; i < uncovered.y; i++) {
    dXPairs[i] = vec2f(0.0);
  }
}
