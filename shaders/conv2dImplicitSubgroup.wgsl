// conv2dImplicitSubgroup.wgsl: conv2dImplicit.wgsl's product (its header has the formula and the
// layout) with the weight block shared across a subgroup. Appended to conv2dImplicit.wgsl, whose
// bindings, Params and helpers (aSlotIndex, slideLeft, loadQuads) it uses, in a module of its own
// that enables `subgroups` (the wrapper puts the `enable` ahead of common.wgsl).
//
// Decomposition (tileRows = 32; fewer for fewer channels): workgroup (x, y, z) owns channels
// 32x .. 32x + 31 and wgSize lanes, each lane 4
// neighbouring positions (h, 4q .. 4q + 3) of image z (and every nwg.z-th after it). For each
// kernel row kh and 4 output channels o .. o + 3, a lane loads two vec4s of each channel's padded
// row (8 values) and slides a 4-wide window over them, one column per kw: the KW taps of that row
// reuse the same loads, so op(B) costs about 8 vec4 loads per KW steps. Per step (one tap, 4
// channels) the 32 x 4 op(A) block is shared across the subgroup as in matmulSubgroup.wgsl (lane
// l loads quad 8r + l % 8, subgroupBroadcast hands it to all) and each lane does 32 mat4x4 · vec4
// products: 512 FMAs. Subgroups of fewer than 8 lanes, or larger than the workgroup, take
// stepDirect (every lane loads every quad).
// Needs: the `subgroups` feature, O % 4 == 0.
// The forward convolution is the same product with the roles swapped (conv2dImplicitForward, with
// a bias + activation epilogue), and the weight gradient reads the forward's padded input the same
// way (conv2dImplicitWeightGrad, below): together they replace im2col + matmul (conv2d.ts).
// For input channels that are not a multiple of 4, the forward sums 4 taps at a time instead
// (conv2dImplicitForwardTaps, at the end of this file).
// Storage: xPadded and paddedRows are read through conv2dImplicit.wgsl's PaddedStored alias (f16 in
// the wrapper's module for an f16 padded x, mixed precision) and widened to vec4f on load.
// Entry points: conv2dImplicitBackwardData, conv2dImplicitForward, conv2dImplicitWeightGrad,
// conv2dImplicitForwardTaps. Overrides: wgSize (conv2dImplicit.wgsl's), hasBias and activation
// (the two forwards), tileRows.

override hasBias: bool = false; // conv2dImplicitForward: add biasIn[channel] (else biasIn is unread)
override activation: u32 = ACT_NONE; // conv2dImplicitForward's epilogue: ACT_* in common.wgsl

// Rows (channels) per workgroup, shared by all its lanes: 8, 16, 24 or 32. The wrapper sets the
// row count rounded up to 8 when it is below 32, so 16 channels do not pay for 32 (accumulator
// arrays keep 32 entries; the loops run to tileRows, a constant once the pipeline is built).
override tileRows: u32 = 32u;

// One step, op(A) shared: this lane loaded quad 8r + lane % 8 (index quadAt[r] + kStep) for each
// r; lanes 0..3 and 4..7 hand rows 8r .. 8r + 3 and 8r + 4 .. 8r + 7 to every lane. bTile column
// i holds output channel o + i at the lane's 4 positions.
fn stepShared(acc: ptr<function, array<vec4f, 32>>, quadAt: ptr<function, array<u32, 4>>,
              kStep: u32, bTile: mat4x4f) {
  for (var r = 0u; r < tileRows / 8u; r++) {
    let q = weightCko[(*quadAt)[r] + kStep];
    accumulateGroup(acc, 2u * r, mat4x4f(subgroupBroadcast(q, 0u), subgroupBroadcast(q, 1u),
                                         subgroupBroadcast(q, 2u), subgroupBroadcast(q, 3u)), bTile);
    accumulateGroup(acc, 2u * r + 1u, mat4x4f(subgroupBroadcast(q, 4u), subgroupBroadcast(q, 5u),
                                              subgroupBroadcast(q, 6u), subgroupBroadcast(q, 7u)),
                    bTile);
  }
}

// The same step where a subgroup cannot share: every lane loads all tileRows quads itself.
fn stepDirect(acc: ptr<function, array<vec4f, 32>>, row0: u32, kStep: u32, bTile: mat4x4f) {
  for (var g = 0u; g < tileRows / 4u; g++) {
    accumulateGroup(acc, g, mat4x4f(weightCko[aSlotIndex(row0, 4u * g) + kStep],
                                    weightCko[aSlotIndex(row0, 4u * g + 1u) + kStep],
                                    weightCko[aSlotIndex(row0, 4u * g + 2u) + kStep],
                                    weightCko[aSlotIndex(row0, 4u * g + 3u) + kStep]), bTile);
  }
}

// Writes the lane's [tileRows x 4] block of image n (channels row0 .., positions h, w0 ..),
// skipping channels past C and columns past W; with `epilogue`, act(value + bias[channel]).
fn storeBlock(acc: ptr<function, array<vec4f, 32>>, n: u32, row0: u32, h: u32, w0: u32,
              epilogue: bool) {
  for (var i = 0u; i < tileRows && row0 + i < params.C; i++) {
    let rowStart = ((n * params.C + row0 + i) * params.H + h) * params.W;
    var value = (*acc)[i];
    if (epilogue) {
      value += select(0.0, biasIn[row0 + i], hasBias);
    }
    for (var j = 0u; j < 4u; j++) {
      if (w0 + j < params.W) {
        productOut[rowStart + w0 + j] = select(value[j], activate(value[j], activation), epilogue);
      }
    }
  }
}

// The lane's [tileRows x 4] block of image n: the sum over taps and 4-channel groups of the
// padded rows (see the header).
fn productBlock(acc: ptr<function, array<vec4f, 32>>, quadAt: ptr<function, array<u32, 4>>,
                n: u32, row0: u32, h: u32, q: u32, shareA: bool) {
  let o4 = params.O / 4u;
  let paddedHeight = params.H + params.KH - 1u;
  for (var kh = 0u; kh < params.KH; kh++) {
    // padded row h + KH-1 - kh of channel 0 of image n, in vec4s
    let planeRow = ((n * params.O) * paddedHeight + h + params.KH - 1u - kh) * params.padQuads + q;
    for (var oq = 0u; oq < o4; oq++) {
      var current = loadQuads(planeRow, oq, 0u); // columns 4q + s .. + 3 at slide s
      var ahead = loadQuads(planeRow, oq, 1u);
      for (var s = 0u; s < params.KW; s++) {
        // slide s reads column w + s of the padded row, which is tap kw = KW-1 - s
        let kStep = (kh * params.KW + params.KW - 1u - s) * o4 + oq;
        if (shareA) {
          stepShared(acc, quadAt, kStep, current);
        } else {
          stepDirect(acc, row0, kStep, current);
        }
        current = slideLeft(current, ahead);
        ahead = slideLeft(ahead, mat4x4f());
        if ((s + 1u) % 4u == 0u && s + 2u < params.KW) {
          ahead = loadQuads(planeRow, oq, 1u + (s + 1u) / 4u);
        }
      }
    }
  }
}

// The product for every image of the workgroup's z (see the header), written by storeBlock; with
// byTaps, the forward by taps (conv2dImplicitForwardTaps, below) on the same lanes.
fn productAll(wid: vec3u, nwg: vec3u, lid: u32, sgLane: u32, sgSize: u32, epilogue: bool,
              byTaps: bool) {
  let row0 = wid.x * tileRows;
  let quadsPerRow = (params.W + 3u) / 4u;
  let positionQuads = params.H * quadsPerRow;
  // Workgroup-uniform guard: every lane must reach the broadcasts, so lanes past the last
  // position clamp their reads and skip their stores instead of returning.
  if (row0 >= params.C || wid.y * wgSize >= positionQuads) {
    return;
  }
  let mine = wid.y * wgSize + lid;
  let clamped = min(mine, positionQuads - 1u);
  let h = clamped / quadsPerRow;
  let q = clamped % quadsPerRow;
  let shareA = sgSize >= 8u && sgSize <= wgSize; // uniform: lanes 0..7 exist in every subgroup
  var quadAt = array<u32, 4>(0u, 0u, 0u, 0u);
  for (var r = 0u; r < tileRows / 8u; r++) {
    let slot = 8u * r + sgLane % 8u;
    quadAt[r] = select(aSlotIndex(row0, slot), tapsSlotIndex(row0, slot), byTaps);
  }
  for (var n = wid.z; n < params.N; n += nwg.z) {
    var acc = array<vec4f, 32>(); // acc[i]: channel row0 + i at positions (h, 4q ..) (ZERO INIT)
    if (byTaps) {
      tapsBlock(&acc, &quadAt, n, row0, h, q, shareA);
    } else {
      productBlock(&acc, &quadAt, n, row0, h, q, shareA);
    }
    if (mine < positionQuads) {
      storeBlock(&acc, n, row0, h, 4u * q, epilogue);
    }
  }
}

@compute @workgroup_size(wgSize)
fn conv2dImplicitBackwardData(@builtin(workgroup_id) wid: vec3u,
                              @builtin(num_workgroups) nwg: vec3u,
                              @builtin(local_invocation_index) lid: u32,
                              @builtin(subgroup_invocation_id) sgLane: u32,
                              @builtin(subgroup_size) sgSize: u32) {
  productAll(wid, nwg, lid, sgLane, sgSize, false, false);
}

// The forward convolution out = act(conv(x, W) + bias) as the same product: rows are the
// forward's output channels (C here), the reduction runs over its input channels (O here) and
// taps, weightCko holds the forward's weight flipped (the transpose with flipForForward) and paddedRows
// its input shifted by its padding (conv2dImplicitPadGradient with padTop = KH-1 - the forward's).
@compute @workgroup_size(wgSize)
fn conv2dImplicitForward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                         @builtin(local_invocation_index) lid: u32,
                         @builtin(subgroup_invocation_id) sgLane: u32,
                         @builtin(subgroup_size) sgSize: u32) {
  productAll(wid, nwg, lid, sgLane, sgSize, true, false);
}

// ---- the weight gradient, straight from the padded input
// dWeight[o, c, kh, kw] = Σ over n, oh, ow of dOutRows[n, o, oh, ow] · xPadded[n, c, oh + kh, ow + kw]
// (stride 1), summed over the samples of run z (`run` per run) into dWeightRuns[z, o, c, kh, kw].
// xPadded is the forward's padded input (conv2dImplicitPadGradient: x shifted by the padding,
// zeros around, rows of xRowQuads vec4s); dOutRows is dOut with its rows zero-filled to dyRowQuads
// vec4s, so a row's positions come as whole vec4s and the zeros past OW add nothing.
// Decomposition (tileRows = 32): workgroup (x, y, z) owns output channels 32x .. 32x + 31 and wgSize lanes, lane
// l the pair (c, kh) = pair y wgSize + l, all KW taps, of run z. Per 4 positions (oh, 4q .. 4q + 3)
// a lane loads two vec4s of its input row (near = columns 4q .., far = 4q + 4 ..; a third for KW > 5)
// and builds the [4 positions x 4 taps] window block: column j is the row from 4q + j, so
// block · dOut quad = taps 0..3 of the output channel; taps 4.. come from a second block (KW > 5)
// or one dot (KW = 5). The dOut quads of the 32 output channels are shared across the subgroup as
// in conv2dImplicitBackwardData. So 2-3 input loads per 32 x 4 x KW FMAs, where the im2col path
// wrote and read back a KW x KH x C column per position.
// Blocked summation: each sample's sum goes into a fresh acc, then into the total, so no chain is
// longer than one sample's OH * ceil(OW / 4) steps.
// Needs: the `subgroups` feature (subgroups of fewer than 8 lanes take stepDirect), KW <= 8.

struct WeightGradParams {
  N: u32, // samples
  C: u32, // input channels
  O: u32, // output channels: rows of the product
  OH: u32, // output height
  OWq: u32, // vec4s of an output row the sum reads: ceil(OW / 4)
  dyRowQuads: u32, // vec4s per row of dOutRows
  PH: u32, // rows per channel of xPadded: OH + KH - 1
  xRowQuads: u32, // vec4s per row of xPadded
  KH: u32, // kernel height
  KW: u32, // kernel width, at most 8
  run: u32, // samples per partial sum (run z sums samples z run .. z run + run - 1)
}

@group(0) @binding(0) var<storage, read> dOutRows: array<vec4f>; // [N, O, OH, 4 dyRowQuads]
@group(0) @binding(1) var<storage, read> xPadded: array<vec4<PaddedStored>>; // [N, C, PH, 4 xRowQuads]
@group(0) @binding(2) var<storage, read_write> dWeightRuns: array<f32>; // [runs, O, C, KH, KW]
@group(0) @binding(3) var<uniform> gradParams: WeightGradParams;

// The [4 positions x 4 taps] block of a row from 8 consecutive values: column j is lo|hi from j.
fn windowBlock(lo: vec4f, hi: vec4f) -> mat4x4f {
  return mat4x4f(lo, vec4f(lo.yzw, hi.x), vec4f(lo.zw, hi.xy), vec4f(lo.w, hi.xyz));
}

// One 4-position step for output channel slot i: taps 0..3 by block, taps 4.. by tailBlock (KW > 5)
// or one dot with far (KW = 5).
fn gradStep(acc: ptr<function, array<vec4f, 32>>, tail: ptr<function, array<vec4f, 32>>, i: u32,
            dOutQuad: vec4f, windows: mat4x4f, tailBlock: mat4x4f, far: vec4f) {
  (*acc)[i] += windows * dOutQuad;
  if (gradParams.KW > 5u) {
    (*tail)[i] += tailBlock * dOutQuad;
  } else if (gradParams.KW == 5u) {
    (*tail)[i].x += dot(far, dOutQuad);
  }
}

// The step with dOut shared: this lane loaded quad slot 8r + lane % 8 of every r; lanes 0..7 hand
// the workgroup's tileRows output channels to every lane.
fn gradStepShared(acc: ptr<function, array<vec4f, 32>>, tail: ptr<function, array<vec4f, 32>>,
                  slotAt: ptr<function, array<u32, 4>>, kq: u32, windows: mat4x4f,
                  tailBlock: mat4x4f, far: vec4f) {
  for (var r = 0u; r < tileRows / 8u; r++) {
    let q = dOutRows[(*slotAt)[r] + kq];
    gradStep(acc, tail, 8u * r, subgroupBroadcast(q, 0u), windows, tailBlock, far);
    gradStep(acc, tail, 8u * r + 1u, subgroupBroadcast(q, 1u), windows, tailBlock, far);
    gradStep(acc, tail, 8u * r + 2u, subgroupBroadcast(q, 2u), windows, tailBlock, far);
    gradStep(acc, tail, 8u * r + 3u, subgroupBroadcast(q, 3u), windows, tailBlock, far);
    gradStep(acc, tail, 8u * r + 4u, subgroupBroadcast(q, 4u), windows, tailBlock, far);
    gradStep(acc, tail, 8u * r + 5u, subgroupBroadcast(q, 5u), windows, tailBlock, far);
    gradStep(acc, tail, 8u * r + 6u, subgroupBroadcast(q, 6u), windows, tailBlock, far);
    gradStep(acc, tail, 8u * r + 7u, subgroupBroadcast(q, 7u), windows, tailBlock, far);
  }
}

// vec4 index of output channel row0 + slot's dOut row 0 in sample n (channels past O clamped).
fn gradSlotIndex(n: u32, row0: u32, slot: u32) -> u32 {
  let p = gradParams;
  return (n * p.O + min(row0 + slot, p.O - 1u)) * p.OH * p.dyRowQuads;
}

// The same step where a subgroup cannot share: every lane loads all 32 quads itself.
fn gradStepDirect(acc: ptr<function, array<vec4f, 32>>, tail: ptr<function, array<vec4f, 32>>,
                  n: u32, row0: u32, kq: u32, windows: mat4x4f, tailBlock: mat4x4f, far: vec4f) {
  for (var i = 0u; i < tileRows; i++) {
    gradStep(acc, tail, i, dOutRows[gradSlotIndex(n, row0, i) + kq], windows, tailBlock, far);
  }
}

// One sample's sums for the lane's (c, kh) and the workgroup's tileRows output channels.
fn gradSample(acc: ptr<function, array<vec4f, 32>>, tail: ptr<function, array<vec4f, 32>>,
              n: u32, row0: u32, c: u32, kh: u32, sgLane: u32, shareA: bool) {
  let p = gradParams;
  var slotAt: array<u32, 4>;
  for (var r = 0u; r < tileRows / 8u; r++) {
    slotAt[r] = gradSlotIndex(n, row0, 8u * r + sgLane % 8u);
  }
  for (var oh = 0u; oh < p.OH; oh++) {
    let xRow = ((n * p.C + c) * p.PH + oh + kh) * p.xRowQuads;
    for (var q = 0u; q < p.OWq; q++) {
      let near = vec4f(xPadded[xRow + q]);
      let far = vec4f(xPadded[xRow + q + 1u]);
      var tailBlock = mat4x4f();
      if (p.KW > 5u) {
        tailBlock = windowBlock(far, vec4f(xPadded[xRow + q + 2u]));
      }
      let windows = windowBlock(near, far);
      let kq = oh * p.dyRowQuads + q;
      if (shareA) {
        gradStepShared(acc, tail, &slotAt, kq, windows, tailBlock, far);
      } else {
        gradStepDirect(acc, tail, n, row0, kq, windows, tailBlock, far);
      }
    }
  }
}

@compute @workgroup_size(wgSize)
fn conv2dImplicitWeightGrad(@builtin(workgroup_id) wid: vec3u,
                            @builtin(local_invocation_index) lid: u32,
                            @builtin(subgroup_invocation_id) sgLane: u32,
                            @builtin(subgroup_size) sgSize: u32) {
  let p = gradParams;
  let row0 = wid.x * tileRows;
  let pairs = p.C * p.KH;
  // Workgroup-uniform guard (the broadcasts need every lane): lanes past the last pair clamp.
  if (row0 >= p.O || wid.y * wgSize >= pairs) {
    return;
  }
  let mine = wid.y * wgSize + lid;
  let pair = min(mine, pairs - 1u);
  let c = pair / p.KH;
  let kh = pair % p.KH;
  let shareA = sgSize >= 8u && sgSize <= wgSize; // uniform: lanes 0..7 exist in every subgroup
  var total = array<vec4f, 32>(); // total[i]: taps 0..3 of output channel row0 + i (ZERO INIT)
  var totalTail = array<vec4f, 32>(); // taps 4..7
  let first = wid.z * p.run;
  for (var n = first; n < min(first + p.run, p.N); n++) {
    var acc = array<vec4f, 32>(); // this sample's sums (ZERO INIT)
    var tail = array<vec4f, 32>();
    gradSample(&acc, &tail, n, row0, c, kh, sgLane, shareA);
    for (var i = 0u; i < tileRows; i++) {
      total[i] += acc[i];
      totalTail[i] += tail[i];
    }
  }
  if (mine >= pairs) {
    return;
  }
  for (var i = 0u; i < tileRows && row0 + i < p.O; i++) {
    let base = (((wid.z * p.O + row0 + i) * p.C + c) * p.KH + kh) * p.KW;
    for (var t = 0u; t < min(p.KW, 4u); t++) {
      dWeightRuns[base + t] = total[i][t];
    }
    for (var t = 4u; t < p.KW; t++) {
      dWeightRuns[base + t] = totalTail[i][t - 4u];
    }
  }
}

// ---- the forward with the taps in the vec4 (conv2dImplicitForwardTaps)
//   out[n,o,h,w] = act(bias[o] + sum over c, kh, kw of W[o,c,kh,kw] * xPadded[n, c, h + kh, w + kw])
// For input channels that are not a multiple of 4 (a first layer's 1 or 3), which
// conv2dImplicitForward sums 4 at a time. `params` and the dispatch are conv2dImplicitForward's
// (the product's terms: C output channels, O input channels, H x W the output); weightCko holds
// the weight by taps, [C_in*KH, O_out, 8] (conv2dImplicitWeightTaps), paddedRows x padded.
// Each lane owns 4 positions of an output row and tileRows output channels, as in productAll. Per
// input channel and kernel row it loads two vec4s of the padded row (three for KW > 5), builds the
// [4 positions x 4 taps] window block (windowBlock) and adds block * W[o, c, kh, 0..3] to each
// output channel's sums, tap 4 by one more vec4 (KW = 5) or taps 4..7 by a second block; the
// weight quads are shared across the subgroup as in the other kernels (stepDirect without).

// One (input channel, kernel row) step for output channel slot i, its taps in w0 (0..3), w1 (4..7).
fn tapsStep(acc: ptr<function, array<vec4f, 32>>, i: u32, windows: mat4x4f, tailBlock: mat4x4f,
            far: vec4f, w0: vec4f, w1: vec4f) {
  (*acc)[i] += windows * w0;
  if (params.KW > 5u) {
    (*acc)[i] += tailBlock * w1;
  } else if (params.KW == 5u) {
    (*acc)[i] += far * w1.x;
  }
}

// The step with the weights shared: this lane loaded output channel slot 8r + lane % 8's two
// quads (index slotAt[r] + step); lanes 0..7 hand all tileRows channels to every lane.
fn tapsStepShared(acc: ptr<function, array<vec4f, 32>>, slotAt: ptr<function, array<u32, 4>>,
                  step: u32, windows: mat4x4f, tailBlock: mat4x4f, far: vec4f) {
  for (var r = 0u; r < tileRows / 8u; r++) {
    let at = (*slotAt)[r] + step;
    let w0 = weightCko[at];
    let w1 = weightCko[at + 1u];
    let i = 8u * r;
    tapsStep(acc, i, windows, tailBlock, far, subgroupBroadcast(w0, 0u), subgroupBroadcast(w1, 0u));
    tapsStep(acc, i + 1u, windows, tailBlock, far, subgroupBroadcast(w0, 1u), subgroupBroadcast(w1, 1u));
    tapsStep(acc, i + 2u, windows, tailBlock, far, subgroupBroadcast(w0, 2u), subgroupBroadcast(w1, 2u));
    tapsStep(acc, i + 3u, windows, tailBlock, far, subgroupBroadcast(w0, 3u), subgroupBroadcast(w1, 3u));
    tapsStep(acc, i + 4u, windows, tailBlock, far, subgroupBroadcast(w0, 4u), subgroupBroadcast(w1, 4u));
    tapsStep(acc, i + 5u, windows, tailBlock, far, subgroupBroadcast(w0, 5u), subgroupBroadcast(w1, 5u));
    tapsStep(acc, i + 6u, windows, tailBlock, far, subgroupBroadcast(w0, 6u), subgroupBroadcast(w1, 6u));
    tapsStep(acc, i + 7u, windows, tailBlock, far, subgroupBroadcast(w0, 7u), subgroupBroadcast(w1, 7u));
  }
}

// vec4 index of output channel row0 + slot's taps 0..3 at step 0 (channels past the last clamped).
fn tapsSlotIndex(row0: u32, slot: u32) -> u32 {
  return 2u * min(row0 + slot, params.C - 1u);
}

// The same step where a subgroup cannot share: every lane loads all tileRows channels' quads.
fn tapsStepDirect(acc: ptr<function, array<vec4f, 32>>, row0: u32, step: u32, windows: mat4x4f,
                  tailBlock: mat4x4f, far: vec4f) {
  for (var i = 0u; i < tileRows; i++) {
    let at = tapsSlotIndex(row0, i) + step;
    tapsStep(acc, i, windows, tailBlock, far, weightCko[at], weightCko[at + 1u]);
  }
}

// The lane's [tileRows x 4] block of image n: the sum over input channels and kernel rows.
fn tapsBlock(acc: ptr<function, array<vec4f, 32>>, slotAt: ptr<function, array<u32, 4>>, n: u32,
             row0: u32, h: u32, q: u32, shareA: bool) {
  let p = params;
  let paddedHeight = p.H + p.KH - 1u;
  for (var c = 0u; c < p.O; c++) {
    for (var kh = 0u; kh < p.KH; kh++) {
      let xRow = ((n * p.O + c) * paddedHeight + h + kh) * p.padQuads + q;
      let near = vec4f(paddedRows[xRow]);
      let far = vec4f(paddedRows[xRow + 1u]);
      var tailBlock = mat4x4f();
      if (p.KW > 5u) {
        tailBlock = windowBlock(far, vec4f(paddedRows[xRow + 2u]));
      }
      let windows = windowBlock(near, far);
      let step = (c * p.KH + kh) * p.C * 2u;
      if (shareA) {
        tapsStepShared(acc, slotAt, step, windows, tailBlock, far);
      } else {
        tapsStepDirect(acc, row0, step, windows, tailBlock, far);
      }
    }
  }
}

@compute @workgroup_size(wgSize)
fn conv2dImplicitForwardTaps(@builtin(workgroup_id) wid: vec3u,
                             @builtin(num_workgroups) nwg: vec3u,
                             @builtin(local_invocation_index) lid: u32,
                             @builtin(subgroup_invocation_id) sgLane: u32,
                             @builtin(subgroup_size) sgSize: u32) {
  productAll(wid, nwg, lid, sgLane, sgSize, true, true);
}
