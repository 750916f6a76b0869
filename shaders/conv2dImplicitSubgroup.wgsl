// conv2dImplicitSubgroup.wgsl: conv2dImplicit.wgsl's product (its header has the formula and the
// layout) with the weight block shared across a subgroup. Appended to conv2dImplicit.wgsl, whose
// bindings, Params and helpers (aSlotIndex, slideLeft, loadQuads) it uses, in a module of its own
// that enables `subgroups` (the wrapper puts the `enable` ahead of common.wgsl).
//
// Decomposition: workgroup (x, y, z) owns channels 32x .. 32x + 31 and wgSize lanes, each lane 4
// neighbouring positions (h, 4q .. 4q + 3) of image z (and every nwg.z-th after it). For each
// kernel row kh and 4 output channels o .. o + 3, a lane loads two vec4s of each channel's padded
// row (8 values) and slides a 4-wide window over them, one column per kw: the KW taps of that row
// reuse the same loads, so op(B) costs about 8 vec4 loads per KW steps. Per step (one tap, 4
// channels) the 32 x 4 op(A) block is shared across the subgroup as in matmulSubgroup.wgsl (lane
// l loads quad 8r + l % 8, subgroupBroadcast hands it to all) and each lane does 32 mat4x4 · vec4
// products: 512 FMAs. Subgroups of fewer than 8 lanes, or larger than the workgroup, take
// stepDirect (every lane loads every quad).
// Needs: the `subgroups` feature, O % 4 == 0.
// Entry point: conv2dImplicitBackwardData. Override: wgSize (conv2dImplicit.wgsl's).

const TILE_ROWS: u32 = 32u; // channels per workgroup, shared by all its lanes
const SLOT_GROUPS: u32 = 4u; // TILE_ROWS / 8: op(A) quads each lane loads per 4 k

// One step, op(A) shared: this lane loaded quad 8r + lane % 8 (index quadAt[r] + kStep) for each
// r; lanes 0..3 and 4..7 hand rows 8r .. 8r + 3 and 8r + 4 .. 8r + 7 to every lane. bTile column
// i holds output channel o + i at the lane's 4 positions.
fn stepShared(acc: ptr<function, array<vec4f, 32>>, quadAt: ptr<function, array<u32, 4>>,
              kStep: u32, bTile: mat4x4f) {
  for (var r = 0u; r < SLOT_GROUPS; r++) {
    let q = weightCko[(*quadAt)[r] + kStep];
    accumulateGroup(acc, 2u * r, mat4x4f(subgroupBroadcast(q, 0u), subgroupBroadcast(q, 1u),
                                         subgroupBroadcast(q, 2u), subgroupBroadcast(q, 3u)), bTile);
    accumulateGroup(acc, 2u * r + 1u, mat4x4f(subgroupBroadcast(q, 4u), subgroupBroadcast(q, 5u),
                                              subgroupBroadcast(q, 6u), subgroupBroadcast(q, 7u)),
                    bTile);
  }
}

// The same step where a subgroup cannot share: every lane loads all TILE_ROWS quads itself.
fn stepDirect(acc: ptr<function, array<vec4f, 32>>, row0: u32, kStep: u32, bTile: mat4x4f) {
  for (var g = 0u; g < TILE_ROWS / 4u; g++) {
    accumulateGroup(acc, g, mat4x4f(weightCko[aSlotIndex(row0, 4u * g) + kStep],
                                    weightCko[aSlotIndex(row0, 4u * g + 1u) + kStep],
                                    weightCko[aSlotIndex(row0, 4u * g + 2u) + kStep],
                                    weightCko[aSlotIndex(row0, 4u * g + 3u) + kStep]), bTile);
  }
}

// Writes the lane's [TILE_ROWS x 4] block of image n (channels row0 .., positions h, w0 ..),
// skipping channels past C and columns past W.
fn storeBlock(acc: ptr<function, array<vec4f, 32>>, n: u32, row0: u32, h: u32, w0: u32) {
  for (var i = 0u; i < TILE_ROWS && row0 + i < params.C; i++) {
    let rowStart = ((n * params.C + row0 + i) * params.H + h) * params.W;
    for (var j = 0u; j < 4u; j++) {
      if (w0 + j < params.W) {
        gradIn[rowStart + w0 + j] = (*acc)[i][j];
      }
    }
  }
}

@compute @workgroup_size(wgSize)
fn conv2dImplicitBackwardData(@builtin(workgroup_id) wid: vec3u,
                              @builtin(num_workgroups) nwg: vec3u,
                              @builtin(local_invocation_index) lid: u32,
                              @builtin(subgroup_invocation_id) sgLane: u32,
                              @builtin(subgroup_size) sgSize: u32) {
  let row0 = wid.x * TILE_ROWS;
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
  let o4 = params.O / 4u;
  let paddedHeight = params.H + params.KH - 1u;
  var quadAt = array<u32, 4>(0u, 0u, 0u, 0u);
  for (var r = 0u; r < SLOT_GROUPS; r++) {
    quadAt[r] = aSlotIndex(row0, 8u * r + sgLane % 8u);
  }
  for (var n = wid.z; n < params.N; n += nwg.z) {
    var acc = array<vec4f, 32>(); // acc[i]: channel row0 + i at positions (h, 4q ..) (ZERO INIT)
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
            stepShared(&acc, &quadAt, kStep, current);
          } else {
            stepDirect(&acc, row0, kStep, current);
          }
          current = slideLeft(current, ahead);
          ahead = slideLeft(ahead, mat4x4f());
          if ((s + 1u) % 4u == 0u && s + 2u < params.KW) {
            ahead = loadQuads(planeRow, oq, 1u + (s + 1u) / 4u);
          }
        }
      }
    }
    if (mine < positionQuads) {
      storeBlock(&acc, n, row0, h, 4u * q);
    }
  }
}
