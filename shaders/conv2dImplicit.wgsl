// conv2dImplicit.wgsl: the input gradient of a stride-1 2-D convolution as an implicit matrix
// product: dX = col2im(Wᵀ · dOut) computed without the [C*KH*KW, OH*OW] dCols matrix between.
//
//   conv2dImplicitBackwardDataTile (and conv2dImplicitSubgroup.wgsl's conv2dImplicitBackwardData):
//       dX[n,c,h,w] = Σ over kh, kw, o of
//       weightCko[c, kh*KW + kw, o] · dOutPadded[n, o, h + KH-1 - kh, w + KW-1 - kw]
//     = Σ W[o,c,kh,kw] · dOut[n, o, h + padTop - kh, w + padLeft - kw] (0 outside dOut): every
//       output the forward computed from x[n,c,h,w].
//   conv2dImplicitWeightsTranspose: weightCko[c, kh*KW + kw, o] = W[o, c, kh, kw], so the
//       product reads 4 output channels as one vec4.
//       With flipForForward, the same layout for the forward, which runs this product with the
//       roles swapped (conv2dImplicitSubgroup.wgsl): weightCko[c, t, o] = W[c, o, KH*KW-1 - t].
//   conv2dImplicitPadGradient: dOutPadded[n, o, r, s] = dOut[n, o, r - (KH-1 - padTop),
//       s - (KW-1 - padLeft)], 0 outside: every read of the product lands inside, rows are
//       whole vec4s, and no bounds test is left in its inner loop.
//
// Layout: x, dX [N, C, H, W]; W [O, C, KH, KW] (OIHW, PyTorch); dOut [N, O, OH, OW];
// dOutPadded [N, O, PH, PW] with PH = H + KH - 1 and PW = 4 * padQuads (see Params); row-major
// f32. Stride 1 only, with padTop < KH and padLeft < KW (the wrapper checks; conv2d.ts uses
// matmul + col2im otherwise).
// Why: per image, the matmul + col2im pair this replaces wrote and read back C*KH*KW*OH*OW floats
// (40 MB for the reference CNN's conv2 at batch 64) for only O multiply-adds each.
// Decomposition: per image this is a product with M = C rows (channels), K = KH*KW*O terms and a
// column per position; conv2dImplicitBackwardDataTile's comment says how its lanes split it.
// conv2dImplicitSubgroup.wgsl appends the other kernel of the product, which shares the weights
// across a subgroup, to this file: this module needs no device feature, that one `subgroups`.
// Needs: O % 4 == 0.
// Entry points: conv2dImplicitBackwardDataTile, conv2dImplicitWeightsTranspose,
// conv2dImplicitPadGradient (also pads x for the forward, and dOut's rows for the weight
// gradient), conv2dImplicitWeightTaps (the weight as the forward by taps reads it). Overrides: wgSize (lanes per workgroup of the product), workgroupSize (of the
// other two), flipForForward (the transpose's layout for the forward).
// Storage: the padded rows (conv2dImplicitPadGradient's output, the products' paddedRows, the
// weight gradient's xPadded) go through the alias PaddedStored: f32 here, f16 in the module the
// wrapper builds for an f16 padded x (mixed precision: x rounded once, to either f16 neighbour as
// WGSL allows, sums in f32).
// ZERO INIT: accumulators and windows are set explicitly (Dawn does not re-zero a `var` declared
// inside a loop; see matmul.wgsl's header).

alias PaddedStored = f32; // padded rows' element type in memory (f16 in the wrapper's f16 module)

override wgSize: u32 = 8u; // product: invocations per workgroup, all along the positions
override workgroupSize: u32 = 256u; // transpose: invocations per workgroup
// The transpose for the forward: weightIn is the forward's weight [C, O, KH, KW] in this file's
// names, read with its taps reversed.
override flipForForward: bool = false;

struct Params {
  N: u32, // batch size
  C: u32, // input channels: rows of the product
  H: u32, // input height
  W: u32, // input width
  O: u32, // output channels; a multiple of 4
  KH: u32, // kernel height
  KW: u32, // kernel width
  strideH: u32, // rows between window starts
  strideW: u32, // columns between window starts
  padTop: u32, // zero rows above the input
  padLeft: u32, // zero columns left of the input
  OH: u32, // output height
  OW: u32, // output width
  padQuads: u32, // vec4s per padded row: 2 ceil(ceil(W / 4) / 2) + 1 + max(0, floor((KW - 2) / 4))
}

// ---- transpose of the weights
@group(0) @binding(0) var<storage, read> weightIn: array<f32>; // W [O, C, KH, KW]
@group(0) @binding(1) var<storage, read_write> weightOut: array<f32>; // [C, KH*KW, O]
@group(0) @binding(2) var<uniform> transposeParams: Params;

@compute @workgroup_size(workgroupSize)
fn conv2dImplicitWeightsTranspose(@builtin(workgroup_id) wid: vec3u,
                                  @builtin(num_workgroups) nwg: vec3u,
                                  @builtin(local_invocation_index) lid: u32) {
  let dst = linearWorkgroup(wid, nwg) * workgroupSize + lid;
  let p = transposeParams;
  let taps = p.KH * p.KW;
  if (dst >= p.O * p.C * taps) {
    return;
  }
  let o = dst % p.O;
  let t = (dst / p.O) % taps;
  let c = dst / (p.O * taps);
  // The forward runs this product with the roles swapped (conv2dImplicitSubgroup.wgsl): its
  // output channel is c here, its input channel o, and tap t of the product is its tap taps-1 - t.
  let source = select((o * p.C + c) * taps + t, (c * p.O + o) * taps + taps - 1u - t, flipForForward);
  weightOut[dst] = weightIn[source];
}

// ---- padding of the output gradient
@group(0) @binding(0) var<storage, read> gradOut: array<f32>; // dOut [N, O, OH, OW]
@group(0) @binding(1) var<storage, read_write> gradPadded: array<vec4<PaddedStored>>; // [N, O, PH, PW]
@group(0) @binding(2) var<uniform> padParams: Params;

// One invocation per padded row (n, o, r), written as vec4s: integer division is slow on a CPU
// "GPU" (scalar per lane), so it happens per row, not per element.
@compute @workgroup_size(workgroupSize)
fn conv2dImplicitPadGradient(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                             @builtin(local_invocation_index) lid: u32) {
  let row = linearWorkgroup(wid, nwg) * workgroupSize + lid;
  let p = padParams;
  let paddedHeight = p.H + p.KH - 1u;
  if (row >= p.N * p.O * paddedHeight) {
    return;
  }
  let plane = row / paddedHeight; // n * O + o
  // Rows and columns before the shift wrap around as u32 and fail the < tests.
  let oh = row % paddedHeight - (p.KH - 1u - p.padTop);
  let rowInside = oh < p.OH;
  let firstCol = 0u - (p.KW - 1u - p.padLeft); // ow of padded column 0
  let rowStart = (plane * p.OH + select(0u, oh, rowInside)) * p.OW;
  for (var quad = 0u; quad < p.padQuads; quad++) {
    var values = vec4f(0.0);
    for (var j = 0u; j < 4u; j++) {
      let ow = firstCol + 4u * quad + j;
      if (rowInside && ow < p.OW) {
        values[j] = gradOut[rowStart + ow];
      }
    }
    gradPadded[row * p.padQuads + quad] = vec4<PaddedStored>(values);
  }
}

// ---- the forward's weight by taps (for conv2dImplicitSubgroup.wgsl's conv2dImplicitForwardTaps)
// weightOut[(c*KH + kh) * O + o, t] = W[o, c, kh, t] for t < KW, 0 for KW <= t < 8: per row of
// the kernel, two vec4s of taps per output channel. transposeParams holds the forward's own
// geometry here (C input channels, O output channels).
@compute @workgroup_size(workgroupSize)
fn conv2dImplicitWeightTaps(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                            @builtin(local_invocation_index) lid: u32) {
  let dst = linearWorkgroup(wid, nwg) * workgroupSize + lid;
  let p = transposeParams;
  if (dst >= p.C * p.KH * p.O * 8u) {
    return;
  }
  let t = dst % 8u;
  let o = (dst / 8u) % p.O;
  let ck = dst / (8u * p.O); // c * KH + kh
  let source = ((o * p.C + ck / p.KH) * p.KH + ck % p.KH) * p.KW + min(t, p.KW - 1u);
  weightOut[dst] = select(0.0, weightIn[source], t < p.KW);
}

// ---- the product
@group(0) @binding(0) var<storage, read> weightCko: array<vec4f>; // [C, KH*KW, O] as vec4s of o
@group(0) @binding(1) var<storage, read> paddedRows: array<vec4<PaddedStored>>; // dOutPadded (or x padded) as vec4s
@group(0) @binding(2) var<storage, read> biasIn: array<f32>; // [C]: the forward's bias only
@group(0) @binding(3) var<storage, read_write> productOut: array<f32>; // dX [N, C, H, W]
@group(0) @binding(4) var<uniform> params: Params;

// vec4 index of op(A) quad `slot` (channel row0 + slot, clamped to C - 1) at tap 0, o = 0; tap t
// adds t * O/4 and the o-quad oq adds oq.
fn aSlotIndex(row0: u32, slot: u32) -> u32 {
  return min(row0 + slot, params.C - 1u) * params.KH * params.KW * (params.O / 4u);
}

// Every column of cols4 moves one position left, the first of next4's filling its end.
fn slideLeft(cols4: mat4x4f, next4: mat4x4f) -> mat4x4f {
  return mat4x4f(vec4f(cols4[0].yzw, next4[0].x), vec4f(cols4[1].yzw, next4[1].x),
                 vec4f(cols4[2].yzw, next4[2].x), vec4f(cols4[3].yzw, next4[3].x));
}

// Channels o .. o + 3 (o = 4 oq) of the lane's padded row (planeRow: its vec4 index in channel 0),
// `quad` vec4s in: column i of the result is channel o + i.
fn loadQuads(planeRow: u32, oq: u32, quad: u32) -> mat4x4f {
  let rowQuads = params.padQuads;
  let planeQuads = (params.H + params.KH - 1u) * rowQuads;
  let at = planeRow + 4u * oq * planeQuads + quad;
  return mat4x4f(vec4f(paddedRows[at]), vec4f(paddedRows[at + planeQuads]),
                 vec4f(paddedRows[at + 2u * planeQuads]), vec4f(paddedRows[at + 3u * planeQuads]));
}

// ---- the product as a register tile, nothing shared between lanes
const LANE_ROWS: u32 = 16u; // channels per invocation in conv2dImplicitBackwardDataTile
const LANE_QUADS: u32 = 2u; // position quads per invocation: 8 neighbouring positions of a row

// One step (one tap, output channels o .. o + 3) of channel row0 + i in the lane's block: weight
// quad i is that channel's 4 output channels at this tap, and near / far hold those output
// channels at the lane's first and second 4 positions (column j = channel o + j).
fn tileStepRow(acc: ptr<function, array<vec4f, 32>>, aAt: ptr<function, array<u32, 16>>, i: u32,
               kStep: u32, near: mat4x4f, far: mat4x4f) {
  let a = weightCko[(*aAt)[i] + kStep];
  (*acc)[LANE_QUADS * i] += near * a;
  (*acc)[LANE_QUADS * i + 1u] += far * a;
}

// The same for channels row0 + 4g .. + 3 (g a constant at every call).
fn tileStepGroup(acc: ptr<function, array<vec4f, 32>>, aAt: ptr<function, array<u32, 16>>, g: u32,
                 kStep: u32, near: mat4x4f, far: mat4x4f) {
  tileStepRow(acc, aAt, 4u * g, kStep, near, far);
  tileStepRow(acc, aAt, 4u * g + 1u, kStep, near, far);
  tileStepRow(acc, aAt, 4u * g + 2u, kStep, near, far);
  tileStepRow(acc, aAt, 4u * g + 3u, kStep, near, far);
}

// One step of the lane's [16 channels x 8 positions] block. The 16 channels are written out as
// four groups with constant indexes, not looped: SwiftShader does not unroll loops and serves a
// run-time index into acc lane by lane (matmul.wgsl's ROWS WRITTEN OUT; docs/measurements.md).
fn tileStep(acc: ptr<function, array<vec4f, 32>>, aAt: ptr<function, array<u32, 16>>, kStep: u32,
            near: mat4x4f, far: mat4x4f) {
  tileStepGroup(acc, aAt, 0u, kStep, near, far);
  tileStepGroup(acc, aAt, 1u, kStep, near, far);
  tileStepGroup(acc, aAt, 2u, kStep, near, far);
  tileStepGroup(acc, aAt, 3u, kStep, near, far);
}

// Writes the lane's [LANE_ROWS x 8] block of image n (channels row0 .., positions h, w0 .. w0 + 7),
// skipping channels past C and columns past W.
fn storeTile(acc: ptr<function, array<vec4f, 32>>, n: u32, row0: u32, h: u32, w0: u32) {
  for (var i = 0u; i < LANE_ROWS && row0 + i < params.C; i++) {
    let rowStart = ((n * params.C + row0 + i) * params.H + h) * params.W;
    for (var j = 0u; j < 4u * LANE_QUADS; j++) {
      if (w0 + j < params.W) {
        productOut[rowStart + w0 + j] = (*acc)[LANE_QUADS * i + j / 4u][j % 4u];
      }
    }
  }
}

// The product (see the header), each invocation on its own: 16 channels x 8 positions (two quads
// of one row), output channels 4 at a time. Per (kh, 4 output channels) a lane loads three quads
// of each channel's padded row and slides an 8-wide window over them, one column per tap (a quad
// more every 4 taps); per tap it loads 16 weight quads and does 512 FMAs. So 16 vec4 weight loads
// per 512 FMAs where conv2dImplicitSubgroup.wgsl's stepDirect loads 32, and 128 accumulators for
// 8 positions where its conv2dImplicitBackwardData keeps 128 for 4: the shape of
// matmulRegisterTileQuadK, which SwiftShader (4-lane subgroups, too few to share) runs fastest.
// No subgroup operation and no barrier, so a lane past the edge returns.
@compute @workgroup_size(wgSize)
fn conv2dImplicitBackwardDataTile(@builtin(workgroup_id) wid: vec3u,
                                  @builtin(num_workgroups) nwg: vec3u,
                                  @builtin(local_invocation_index) lid: u32) {
  let row0 = wid.x * LANE_ROWS;
  let pairsPerRow = ((params.W + 3u) / 4u + 1u) / 2u;
  let mine = wid.y * wgSize + lid;
  if (row0 >= params.C || mine >= params.H * pairsPerRow) {
    return;
  }
  let h = mine / pairsPerRow;
  let q = LANE_QUADS * (mine % pairsPerRow);
  let o4 = params.O / 4u;
  let paddedHeight = params.H + params.KH - 1u;
  var aAt: array<u32, 16>; // weight quad of channel row0 + i (clamped) at tap 0, o = 0
  for (var i = 0u; i < LANE_ROWS; i++) {
    aAt[i] = aSlotIndex(row0, i);
  }
  for (var n = wid.z; n < params.N; n += nwg.z) {
    var acc = array<vec4f, 32>(); // acc[2i + j]: channel row0 + i at positions (h, 4(q + j) ..) (ZERO INIT)
    for (var kh = 0u; kh < params.KH; kh++) {
      let planeRow = ((n * params.O) * paddedHeight + h + params.KH - 1u - kh) * params.padQuads + q;
      for (var oq = 0u; oq < o4; oq++) {
        var near = loadQuads(planeRow, oq, 0u); // columns 4q + s .. + 3 at slide s
        var far = loadQuads(planeRow, oq, 1u);
        var ahead = loadQuads(planeRow, oq, 2u);
        for (var s = 0u; s < params.KW; s++) {
          // slide s reads column w + s of the padded row, which is tap kw = KW-1 - s
          tileStep(&acc, &aAt, (kh * params.KW + params.KW - 1u - s) * o4 + oq, near, far);
          near = slideLeft(near, far);
          far = slideLeft(far, ahead);
          ahead = slideLeft(ahead, mat4x4f());
          if ((s + 1u) % 4u == 0u && s + 2u < params.KW) {
            ahead = loadQuads(planeRow, oq, 2u + (s + 1u) / 4u);
          }
        }
      }
    }
    storeTile(&acc, n, row0, h, 4u * q);
  }
}
