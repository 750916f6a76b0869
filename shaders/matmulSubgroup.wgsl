// matmulSubgroup.wgsl: the contract of shaders/matmul.wgsl (per batch b, C_b = act(op(A_b) · op(B_b)
// + bias), M,K,N legend, row-major f32, transA/transB read in place, batch strides with 0 as
// broadcast, sumBatches in runs of productsPerSum, bias per row or column, activation epilogue),
// with op(A) shared across the lanes of a subgroup instead of loaded by each.
//
// Needs the `subgroups` feature, hence its own module (matmul.wgsl must compile everywhere); the
// wrapper puts `enable subgroups;` ahead of common.wgsl since a directive precedes all declarations.
//
// Algorithm: workgroup (x, y) owns rows 32x .. 32x + 31 of C and wgSize lanes side by side along
// N, 4 columns (one vec4) each. Per step of 4 k, lane l of each subgroup loads op(A) quads
// 8r + l % 8 (r < 4; the [32 rows x 4 k] block is 32 vec4 "slots") and subgroupBroadcast from
// lanes 0..7 hands every lane all 32; each lane loads its [4 k x 4 columns] op(B) block (4 vec4)
// and does 32 mat4x4 · vec4 products: 512 FMAs for 8 vec4 loads. Why it pays on lavapipe:
// llvmpipe runs 8 lanes as SIMD and splits each buffer load into per-lane scalar loads with
// bounds checks, while a broadcast of a constant lane is a register splat, so loads per FMA set
// the speed: the 16x12 register tile of matmul.wgsl loads 28 values per 192 FMAs, this one 8 per
// 128 (per lane and k). stepDirect (no broadcasts), forced by wgSize 4, ran 0.2-0.4x registerTile.
// Any subgroup size is correct: a lane's slot depends only on its subgroup lane id and the
// workgroup's rows, so lanes 0..7 of any subgroup hold the whole block. Subgroups of exactly 4
// lanes (SwiftShader) take stepShared4: lane l loads slots 4g + l % 4 (g < 8), 8 loads per step
// instead of 32, 1.1-1.2x stepDirect on SwiftShader, and 2.1-2.2x more with its groups written
// out (docs/measurements.md). Smaller subgroups, or larger than the workgroup (which could be
// partial, lacking lane 7), take stepDirect, where every lane loads every slot. Subgroups are
// assumed full when their size divides wgSize (as on llvmpipe, SwiftShader and GPU drivers).
// Blocked summation: each lane sums kBlock 4-k steps into a fresh acc, then adds it to total, so an
// output is a chain of K/(4 kBlock) blocks (per product, times `batch` with sumBatches) of kBlock
// steps, not one chain of K/4 (times batch): float32 rounding grows with the longest chain. With
// one chain, 3 Adam steps of the reference CNN at batch 8 left conv1.weight 2.95x (conv2.weight
// 2.1x) as far from a float64 run as PyTorch's float32; blocked, 0.94x (0.26x).
// Needs (the wrapper checks, else runs matmulRegisterTile): K % 4 == 0, batch strides % 4 == 0,
// M % 4 == 0 with transA, N % 4 == 0 without transB, A and B 16-byte aligned.
// Smaller tiles: with M < 32 the wrapper sets tileRows to M rounded up to 8, so a product with 16
// output rows does not pay for 32 (the accumulator arrays keep 32 entries; the loops run to
// tileRows, a constant once the pipeline is built). The description above is for tileRows 32.
// Entry point: matmulSubgroupTile. Overrides: transA, transB, sumBatches, biasMode, activation
// (as in matmul.wgsl), wgSize, kBlock and tileRows.
// ZERO INIT: accumulators are zeroed explicitly in the batch loop (see matmul.wgsl's header).
// Storage: A and B through the aliases AStored and BStored, as in matmul.wgsl (f16 modules).

override transA: bool = false; // A_b stored [K, M]
override transB: bool = false; // B_b stored [N, K]
override sumBatches: bool = false; // C = sum over b (in runs of productsPerSum), written once
override biasMode: u32 = 0u; // BIAS_NONE, BIAS_ROW (bias[m]) or BIAS_COL (bias[n])
override activation: u32 = ACT_NONE; // epilogue after the bias: ACT_* in common.wgsl
override wgSize: u32 = 8u; // invocations per workgroup, all along N; sharing needs >= subgroup size
override kBlock: u32 = 16u; // 4-k steps summed apart before joining the total (blocked summation)

const BIAS_NONE: u32 = 0u;
const BIAS_ROW: u32 = 1u;
const BIAS_COL: u32 = 2u;
override tileRows: u32 = 32u; // rows of C per workgroup, shared by all its lanes: 8, 16, 24 or 32
const LANE_COLS: u32 = 4u; // columns of C per lane (one vec4)

struct Params {
  M: u32, // rows of op(A) and C
  N: u32, // columns of op(B) and C
  K: u32, // columns of op(A) = rows of op(B); a multiple of 4
  batch: u32, // number of products
  aBatchStride: u32, // elements from A_b to A_{b+1}; 0 broadcasts one A; a multiple of 4
  bBatchStride: u32, // elements from B_b to B_{b+1}; 0 broadcasts one B; a multiple of 4
  outBatchStride: u32, // elements from C_b to C_{b+1}; with sumBatches, from one sum to the next
  productsPerSum: u32, // with sumBatches: consecutive products per output (batch: one output)
}

alias AStored = f32; // A's element type in memory (f16 in the wrapper's f16 modules)
alias BStored = f32; // B's element type in memory

@group(0) @binding(0) var<storage, read> aMat4: array<vec4<AStored>>; // A_b as vec4s, [M, K] or [K, M] (transA)
@group(0) @binding(1) var<storage, read> bMat4: array<vec4<BStored>>; // B_b as vec4s, [K, N] or [N, K] (transB)
@group(0) @binding(2) var<storage, read> biasIn: array<f32>; // [M] or [N]; unread when BIAS_NONE
@group(0) @binding(3) var<storage, read_write> cMat: array<f32>; // C_b, [M, N]
@group(0) @binding(4) var<uniform> params: Params;

// Quad i of A and of B (elements 4i .. 4i + 3), as f32 whatever the storage type.
fn aQuad(i: u32) -> vec4f {
  return vec4f(aMat4[i]);
}

fn bQuad(i: u32) -> vec4f {
  return vec4f(bMat4[i]);
}

// Products summed into one output each: productsPerSum with sumBatches, else 1.
fn productsPerOutput() -> u32 {
  return select(1u, params.productsPerSum, sumBatches);
}

// Output matrices written: ceil(batch / productsPerSum) with sumBatches (1 when it is the whole
// batch), else `batch`.
fn outputCount() -> u32 {
  return (params.batch + productsPerOutput() - 1u) / productsPerOutput();
}

// The products output outB sums, first and one past the last, in b order.
fn firstProduct(outB: u32) -> u32 {
  return outB * productsPerOutput();
}

fn endProduct(outB: u32) -> u32 {
  return min(firstProduct(outB) + productsPerOutput(), params.batch);
}

// vec4 index of op(A) quad `slot` (0 .. tileRows - 1) at k = 0; a k step (4 k) adds aStep().
// Without transA slot s is row row0 + s, k .. k + 3; with transA it is stored row k + s % 4,
// columns row0 + 4 (s / 4) .. + 3. Either way slots 4g .. 4g + 3 cover rows 4g .. 4g + 3.
// Rows past M are clamped (read, never stored).
fn aSlotIndex(aBase4: u32, row0: u32, slot: u32) -> u32 {
  if (transA) {
    let m4 = params.M / 4u;
    return aBase4 + (slot % 4u) * m4 + min(row0 / 4u + slot / 4u, m4 - 1u);
  }
  return aBase4 + min(row0 + slot, params.M - 1u) * (params.K / 4u);
}

// vec4s between the A quads of consecutive k steps (4 k).
fn aStep() -> u32 {
  return select(1u, params.M, transA);
}

// op(A)[4 rows, k .. k + 3] as the columns of a mat4x4 (row i = column i) from the group's 4 slots.
fn aGroupRows(s0: vec4f, s1: vec4f, s2: vec4f, s3: vec4f) -> mat4x4f {
  let m = mat4x4f(s0, s1, s2, s3);
  if (transA) {
    return transpose(m); // each slot holds 4 rows at one k
  }
  return m;
}

// vec4 index of the lane's op(B) reads at k = 0; a k step (4 k) adds bStep(). Without transB, read
// kk is row kk, columns col0 .. col0 + 3 of B stored [K, N] (kk * N/4 further on); with transB, read
// j is the run of 4 k of column col0 + j of B stored [N, K]. Columns past N are clamped.
fn bIndexes(bBase4: u32, col0: u32) -> vec4u {
  if (transB) {
    let cols = min(vec4u(col0) + vec4u(0u, 1u, 2u, 3u), vec4u(params.N - 1u));
    return vec4u(bBase4) + cols * (params.K / 4u);
  }
  let n4 = params.N / 4u;
  return vec4u(bBase4 + min(col0 / 4u, n4 - 1u)) + vec4u(0u, 1u, 2u, 3u) * n4;
}

// vec4s between the B reads of consecutive k steps (4 k).
fn bStep() -> u32 {
  return select(params.N, 1u, transB);
}

// The [4 k x 4 columns] op(B) block at step kq: column kk is op(B)[k + kk, cols], so
// block * a = sum_kk op(B)[k + kk, cols] a[kk].
fn bBlock(at: vec4u, kq: u32) -> mat4x4f {
  let off = kq * bStep();
  let m = mat4x4f(bQuad(at.x + off), bQuad(at.y + off), bQuad(at.z + off), bQuad(at.w + off));
  if (transB) {
    return transpose(m); // each read is one column's 4 k
  }
  return m;
}

// One 4-k step, op(A) shared: lane l loads slot 8r + l % 8 (aAt[r] at k = 0) for r < tileRows / 8;
// lanes 0..3 and 4..7 then hand rows 8r .. 8r + 3 and 8r + 4 .. 8r + 7 to every lane.
fn stepShared(acc: ptr<function, array<vec4f, 32>>, aAt: ptr<function, array<u32, 4>>, kq: u32,
              bTile: mat4x4f) {
  for (var r = 0u; r < tileRows / 8u; r++) {
    let q = aQuad((*aAt)[r] + kq * aStep());
    accumulateGroup(acc, 2u * r, aGroupRows(subgroupBroadcast(q, 0u), subgroupBroadcast(q, 1u),
                                             subgroupBroadcast(q, 2u), subgroupBroadcast(q, 3u)), bTile);
    accumulateGroup(acc, 2u * r + 1u, aGroupRows(subgroupBroadcast(q, 4u), subgroupBroadcast(q, 5u),
                                                 subgroupBroadcast(q, 6u), subgroupBroadcast(q, 7u)), bTile);
  }
}

// Group g of a 4-lane step: lane l loaded slot 4g + l % 4 (aAt4[g] at k = 0), and lanes 0..3 hand
// rows 4g .. 4g + 3 to every lane.
fn shareGroup4(acc: ptr<function, array<vec4f, 32>>, aAt4: ptr<function, array<u32, 8>>, g: u32,
               kq: u32, bTile: mat4x4f) {
  let q = aQuad((*aAt4)[g] + kq * aStep());
  accumulateGroup(acc, g, aGroupRows(subgroupBroadcast(q, 0u), subgroupBroadcast(q, 1u),
                                     subgroupBroadcast(q, 2u), subgroupBroadcast(q, 3u)), bTile);
}

// The step for 4-lane subgroups (SwiftShader): groups g < tileRows / 4, so 8 loads of op(A) per
// lane and step where stepDirect makes 32. The groups are written out with constant indexes, each
// past the first two kept by an override-constant test, not looped: SwiftShader does not unroll
// loops (matmul.wgsl's ROWS WRITTEN OUT).
fn stepShared4(acc: ptr<function, array<vec4f, 32>>, aAt4: ptr<function, array<u32, 8>>, kq: u32,
               bTile: mat4x4f) {
  shareGroup4(acc, aAt4, 0u, kq, bTile);
  shareGroup4(acc, aAt4, 1u, kq, bTile);
  if (tileRows > 8u) {
    shareGroup4(acc, aAt4, 2u, kq, bTile);
    shareGroup4(acc, aAt4, 3u, kq, bTile);
  }
  if (tileRows > 16u) {
    shareGroup4(acc, aAt4, 4u, kq, bTile);
    shareGroup4(acc, aAt4, 5u, kq, bTile);
  }
  if (tileRows > 24u) {
    shareGroup4(acc, aAt4, 6u, kq, bTile);
    shareGroup4(acc, aAt4, 7u, kq, bTile);
  }
}

// The same step where a subgroup cannot share (fewer than 4 lanes, or maybe partial): every lane
// loads all tileRows slots itself.
fn stepDirect(acc: ptr<function, array<vec4f, 32>>, aBase4: u32, row0: u32, kq: u32, bTile: mat4x4f) {
  let at = kq * aStep();
  for (var g = 0u; g < tileRows / 4u; g++) {
    accumulateGroup(acc, g, aGroupRows(aQuad(aSlotIndex(aBase4, row0, 4u * g) + at),
                                       aQuad(aSlotIndex(aBase4, row0, 4u * g + 1u) + at),
                                       aQuad(aSlotIndex(aBase4, row0, 4u * g + 2u) + at),
                                       aQuad(aSlotIndex(aBase4, row0, 4u * g + 3u) + at)), bTile);
  }
}

// Writes act(acc + bias) for the lane's [tileRows x 4] block at (row0, col0) of output outB,
// skipping rows and columns past the edge. Bias values are read once per row or per column.
fn storeBlock(acc: ptr<function, array<vec4f, 32>>, outB: u32, row0: u32, col0: u32) {
  let outBase = outB * params.outBatchStride;
  var colBias = vec4f(0.0);
  if (biasMode == BIAS_COL) {
    for (var j = 0u; j < LANE_COLS; j++) { colBias[j] = biasIn[min(col0 + j, params.N - 1u)]; }
  }
  for (var i = 0u; i < tileRows && row0 + i < params.M; i++) {
    let row = row0 + i;
    var pre = (*acc)[i] + colBias;
    if (biasMode == BIAS_ROW) {
      pre += vec4f(biasIn[row]);
    }
    for (var j = 0u; j < LANE_COLS; j++) {
      if (col0 + j < params.N) {
        cMat[outBase + row * params.N + col0 + j] = activate(pre[j], activation);
      }
    }
  }
}

@compute @workgroup_size(wgSize)
fn matmulSubgroupTile(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                      @builtin(local_invocation_index) lid: u32,
                      @builtin(subgroup_invocation_id) sgLane: u32, @builtin(subgroup_size) sgSize: u32) {
  // Row bands along x run first: the bands sharing a strip of op(B) follow each other in cache.
  let row0 = wid.x * tileRows;
  let colBlock = wid.y * wgSize * LANE_COLS;
  // Workgroup-uniform guard: every lane of a subgroup must reach the broadcasts, so lanes past N
  // clamp their reads and skip their stores instead of returning.
  if (row0 >= params.M || colBlock >= params.N) {
    return;
  }
  let col0 = colBlock + lid * LANE_COLS;
  // Uniform (subgroup size and an override): lanes 0..7 (or 0..3) exist in every subgroup.
  let shareA = sgSize >= 8u && sgSize <= wgSize;
  let shareA4 = sgSize == 4u && sgSize <= wgSize;
  let k4 = params.K / 4u;
  for (var outB = wid.z; outB < outputCount(); outB += nwg.z) {
    var total = array<vec4f, 32>(); // total[i]: row row0 + i, columns col0 .. col0 + 3 (ZERO INIT)
    for (var b = firstProduct(outB); b < endProduct(outB); b++) {
      let aBase4 = b * (params.aBatchStride / 4u);
      let bAt = bIndexes(b * (params.bBatchStride / 4u), col0);
      var aAt: array<u32, 4>;
      for (var r = 0u; r < tileRows / 8u; r++) {
        aAt[r] = aSlotIndex(aBase4, row0, 8u * r + sgLane % 8u);
      }
      var aAt4: array<u32, 8>;
      for (var g = 0u; g < tileRows / 4u; g++) {
        aAt4[g] = aSlotIndex(aBase4, row0, 4u * g + sgLane % 4u);
      }
      // Blocked sum: kBlock steps into acc, then acc into total (see the header).
      for (var kq0 = 0u; kq0 < k4; kq0 += kBlock) {
        var acc = array<vec4f, 32>(); // this block's partial sums (ZERO INIT)
        let kqEnd = min(kq0 + kBlock, k4);
        if (shareA) {
          for (var kq = kq0; kq < kqEnd; kq++) { stepShared(&acc, &aAt, kq, bBlock(bAt, kq)); }
        } else if (shareA4) {
          for (var kq = kq0; kq < kqEnd; kq++) { stepShared4(&acc, &aAt4, kq, bBlock(bAt, kq)); }
        } else {
          for (var kq = kq0; kq < kqEnd; kq++) { stepDirect(&acc, aBase4, row0, kq, bBlock(bAt, kq)); }
        }
        for (var i = 0u; i < tileRows; i++) { total[i] += acc[i]; }
      }
    }
    storeBlock(&total, outB, row0, col0);
  }
}
