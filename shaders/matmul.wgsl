// matmul.wgsl: batched matrix products with a fused bias + activation epilogue.
//
//   for b < batch:  C_b = act(op(A_b) · op(B_b) + bias)          M,K,N legend, row-major f32
//   op(A_b) is [M, K]: A_b stored [M, K], or [K, M] read transposed (transA, never materialized);
//   op(B_b) is [K, N]: B_b stored [K, N], or [N, K] read transposed (transB).
//   X_b starts at b * xBatchStride elements of its tensor; a stride of 0 reuses one matrix for
//   every b. sumBatches: one C = act(sum_b op(A_b) op(B_b) + bias), summed inside the kernel in
//   b order (deterministic, no atomics); or, with productsPerSum = p < batch, ceil(batch / p)
//   outputs C_g (at g * outBatchStride), each the sum of products g*p .. min(batch, g*p + p) - 1,
//   so that a long batch sum over few output tiles still spreads over many workgroups (the caller
//   adds the C_g in order). biasMode 1 adds bias[m] to row m (conv, per output channel), 2 adds
//   bias[n] to column n (dense); activation is applied after the bias.
//
// Algorithm: every variant accumulates dot products over k in f32 registers and stores
// act(sum + bias) once; batches run in workgroup z, folded (b += numWorkgroups.z) past 65535.
// Entry points (same bindings and Params; the wrapper picks one):
//   matmulNaive              one output per invocation: the teaching and benchmark baseline.
//   matmulRegisterTile       16x12 outputs per invocation, no workgroup memory, any shape.
//   matmulRegisterTileVec4   the same, op(B) rows read as vec4s (no transB; N, bBatchStride % 4 == 0).
//   matmulRegisterTileVec4K  the same for A·Bᵀ, A and B read as vec4s along k (K, strides % 4 == 0).
//   matmulRegisterTileQuadK  the same for A·B and Aᵀ·B, 4 k per step, A and B read as vec4s (the
//                            wrapper's quadK option; K, N, strides, and M with transA, % 4 == 0).
//   matmulWorkgroupTile      shared-memory tiling (Volkov & Demmel, "Benchmarking GPUs to tune
//                            dense linear algebra", SC 2008): 32x32 outputs per workgroup, 32-deep
//                            k slices staged in workgroup memory, 4x4 outputs per thread; each
//                            slice is summed apart, then added (blocked summation, shorter
//                            float32 chains: see tests/train/precision.test.ts).
// Why registers win on lavapipe: llvmpipe runs 8 invocations as SIMD lanes and splits every buffer
// or workgroup load into per-lane scalar loads with a bounds check, while FMAs stay vector ops, so
// the cost is loads per FMA. A 16x12 block loads 28 values for 192 FMAs per k; loading each row's
// A value right before its FMAs keeps few values live (bigger blocks, or 4 k per step, spill).
// SwiftShader (4 lanes) is the other way round: matmulRegisterTileQuadK's 28 vec4 loads per 768
// FMAs ran 2.5-3x matmulRegisterTileVec4 and 1.5-2x subgroupTile on A·B there (0.5x on lavapipe).
// ROWS WRITTEN OUT: the register tiles' per-step work over their 16 rows is written as four calls
// on groups of 4 rows with constant indexes, not as a loop: SwiftShader does not unroll loops, so
// a loop index into the accumulator array becomes a run-time index, which it serves lane by lane.
// Written out, the products ran 1.4-1.9x faster there (llvmpipe unrolls either form alike).
// ZERO INIT: accumulators declared inside the batch loop are initialized explicitly: a bare
// `var acc: array<...>;` in a loop kept the previous pass's value under the `webgpu` package's
// Dawn (on lavapipe and SwiftShader alike), although WGSL zeroes it at every declaration.
// Overrides: transA, transB, sumBatches, biasMode, activation; wgCols x wgRows invocations per
// workgroup for every entry point except matmulWorkgroupTile, whose 8x8 shape fixes its tiles.
// Storage: A and B are read through the aliases AStored and BStored, f32 here; the wrapper builds
// a module with either as f16 (`enable f16`) when its tensor is f16, so the same entry points
// read half-precision operands and still accumulate in f32 (C and the bias are always f32).

override transA: bool = false; // A_b stored [K, M]
override transB: bool = false; // B_b stored [N, K]
override sumBatches: bool = false; // C = sum over b (in runs of productsPerSum), written once
override biasMode: u32 = 0u; // BIAS_NONE, BIAS_ROW (bias[m]) or BIAS_COL (bias[n])
override activation: u32 = ACT_NONE; // epilogue after the bias: ACT_* in common.wgsl
override wgCols: u32 = 8u; // invocations per workgroup along N
override wgRows: u32 = 8u; // invocations per workgroup along M

const BIAS_NONE: u32 = 0u;
const BIAS_ROW: u32 = 1u;
const BIAS_COL: u32 = 2u;
const TILE_ROWS: u32 = 16u; // rows of C per invocation in the register tiles
const TILE_COLS: u32 = 12u; // columns of C per invocation in the register tiles (three vec4)
const WG_TILE: u32 = 32u; // C block per workgroup in matmulWorkgroupTile (8x8 threads x 4x4)
const WG_K: u32 = 32u; // k slice staged in workgroup memory per step
const WG_THREADS: u32 = 8u; // threads per side in matmulWorkgroupTile

struct Params {
  M: u32, // rows of op(A) and C
  N: u32, // columns of op(B) and C
  K: u32, // columns of op(A) = rows of op(B)
  batch: u32, // number of products
  aBatchStride: u32, // elements from A_b to A_{b+1}; 0 broadcasts one A
  bBatchStride: u32, // elements from B_b to B_{b+1}; 0 broadcasts one B
  outBatchStride: u32, // elements from C_b to C_{b+1}; with sumBatches, from one sum to the next
  productsPerSum: u32, // with sumBatches: consecutive products per output (batch: one output)
}

alias AStored = f32; // A's element type in memory (f16 in the wrapper's f16 modules)
alias BStored = f32; // B's element type in memory

@group(0) @binding(0) var<storage, read> aMat: array<AStored>; // A_b, [M, K] or [K, M] (transA)
@group(0) @binding(1) var<storage, read> bMat: array<BStored>; // B_b, [K, N] or [N, K] (transB)
@group(0) @binding(2) var<storage, read> biasIn: array<f32>; // [M] or [N]; unread when BIAS_NONE
@group(0) @binding(3) var<storage, read_write> cMat: array<f32>; // C_b, [M, N]
@group(0) @binding(4) var<uniform> params: Params;
// The vec4 register tiles read the same tensors as vec4s (4 consecutive elements).
@group(0) @binding(0) var<storage, read> aMat4: array<vec4<AStored>>;
@group(0) @binding(1) var<storage, read> bMat4: array<vec4<BStored>>;

// ---- shared helpers

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

// Element (row, kIdx) of op(A_b); `aBase` = b * aBatchStride.
fn loadA(aBase: u32, row: u32, kIdx: u32) -> f32 {
  if (transA) {
    return f32(aMat[aBase + kIdx * params.M + row]);
  }
  return f32(aMat[aBase + row * params.K + kIdx]);
}

// Element (kIdx, col) of op(B_b); `bBase` = b * bBatchStride.
fn loadB(bBase: u32, kIdx: u32, col: u32) -> f32 {
  if (transB) {
    return f32(bMat[bBase + col * params.K + kIdx]);
  }
  return f32(bMat[bBase + kIdx * params.N + col]);
}

// Quad i of A and of B (elements 4i .. 4i + 3), as f32 whatever the storage type.
fn aQuad(i: u32) -> vec4f {
  return vec4f(aMat4[i]);
}

fn bQuad(i: u32) -> vec4f {
  return vec4f(bMat4[i]);
}

// The fused epilogue: act(sum + bias) for output (row, col).
fn epilogue(sum: f32, row: u32, col: u32) -> f32 {
  var pre = sum;
  if (biasMode == BIAS_ROW) {
    pre += biasIn[row];
  } else if (biasMode == BIAS_COL) {
    pre += biasIn[col];
  }
  return activate(pre, activation);
}

// ---- naive: one output per invocation

@compute @workgroup_size(wgCols, wgRows)
fn matmulNaive(@builtin(global_invocation_id) gid: vec3u, @builtin(workgroup_id) wid: vec3u,
               @builtin(num_workgroups) nwg: vec3u) {
  let row = gid.y;
  let col = gid.x;
  if (row >= params.M || col >= params.N) {
    return;
  }
  for (var outB = wid.z; outB < outputCount(); outB += nwg.z) {
    var sum = 0.0;
    for (var b = firstProduct(outB); b < endProduct(outB); b++) {
      let aBase = b * params.aBatchStride;
      let bBase = b * params.bBatchStride;
      for (var k = 0u; k < params.K; k++) {
        sum += loadA(aBase, row, k) * loadB(bBase, k, col);
      }
    }
    cMat[outB * params.outBatchStride + row * params.N + col] = epilogue(sum, row, col);
  }
}

// ---- register tiles: a 16x12 block of C per invocation. Per k, the block's 12 op(B) values are
// loaded once, then each row's op(A) value is loaded and used at once (3 vec4 FMAs), so few
// values stay live; acc[3i + h] holds row i, columns 4h .. 4h + 3 of the block.

// Writes the block at (row0, col0) of output matrix outB, skipping rows and columns past the edge.
fn storeTile(acc: ptr<function, array<vec4f, 48>>, outB: u32, row0: u32, col0: u32) {
  let outBase = outB * params.outBatchStride;
  for (var i = 0u; i < TILE_ROWS; i++) {
    let row = row0 + i;
    for (var j = 0u; j < TILE_COLS; j++) {
      let col = col0 + j;
      if (row < params.M && col < params.N) {
        cMat[outBase + row * params.N + col] = epilogue((*acc)[3u * i + j / 4u][j % 4u], row, col);
      }
    }
  }
}

// One k step of row i: acc row i += op(A)[rows[i], k] * (b0, b1, b2).
fn tileStepRow(acc: ptr<function, array<vec4f, 48>>, rows: ptr<function, array<u32, 16>>, i: u32,
               aBase: u32, k: u32, b0: vec4f, b1: vec4f, b2: vec4f) {
  let aik = vec4f(loadA(aBase, (*rows)[i], k));
  (*acc)[3u * i] = fma(aik, b0, (*acc)[3u * i]);
  (*acc)[3u * i + 1u] = fma(aik, b1, (*acc)[3u * i + 1u]);
  (*acc)[3u * i + 2u] = fma(aik, b2, (*acc)[3u * i + 2u]);
}

// One k step of rows 4g .. 4g + 3 (g a constant at every call: ROWS WRITTEN OUT in the header).
fn tileStepGroup(acc: ptr<function, array<vec4f, 48>>, rows: ptr<function, array<u32, 16>>, g: u32,
                 aBase: u32, k: u32, b0: vec4f, b1: vec4f, b2: vec4f) {
  tileStepRow(acc, rows, 4u * g, aBase, k, b0, b1, b2);
  tileStepRow(acc, rows, 4u * g + 1u, aBase, k, b0, b1, b2);
  tileStepRow(acc, rows, 4u * g + 2u, aBase, k, b0, b1, b2);
  tileStepRow(acc, rows, 4u * g + 3u, aBase, k, b0, b1, b2);
}

// One k step of all 16 rows: acc row i += op(A)[rows[i], k] * (b0, b1, b2).
fn tileStep(acc: ptr<function, array<vec4f, 48>>, rows: ptr<function, array<u32, 16>>, aBase: u32, k: u32,
            b0: vec4f, b1: vec4f, b2: vec4f) {
  tileStepGroup(acc, rows, 0u, aBase, k, b0, b1, b2);
  tileStepGroup(acc, rows, 1u, aBase, k, b0, b1, b2);
  tileStepGroup(acc, rows, 2u, aBase, k, b0, b1, b2);
  tileStepGroup(acc, rows, 3u, aBase, k, b0, b1, b2);
}

// Rows of the block, clamped to M - 1 at the bottom edge (valid reads; storeTile drops them).
fn tileRows(row0: u32) -> array<u32, 16> {
  var rows: array<u32, 16>;
  for (var i = 0u; i < TILE_ROWS; i++) {
    rows[i] = min(row0 + i, params.M - 1u);
  }
  return rows;
}

// The 4-k-per-step tiles' update of row i (acc[3i .. 3i + 2], columns 0..3, 4..7, 8..11):
// += bt[h] · a, where bt[h][kk] = op(B)[k + kk, columns 4h .. 4h + 3] and a = op(A)[row i, k .. k + 3].
fn accumulateQuadRow(acc: ptr<function, array<vec4f, 48>>, i: u32, bt: ptr<function, array<mat4x4f, 3>>,
                     a: vec4f) {
  (*acc)[3u * i] += (*bt)[0] * a;
  (*acc)[3u * i + 1u] += (*bt)[1] * a;
  (*acc)[3u * i + 2u] += (*bt)[2] * a;
}

// The same for rows 4g .. 4g + 3, whose 4 k are the columns of `rows` (g a constant at every call:
// ROWS WRITTEN OUT in the header).
fn accumulateQuadGroup(acc: ptr<function, array<vec4f, 48>>, g: u32, bt: ptr<function, array<mat4x4f, 3>>,
                       rows: mat4x4f) {
  accumulateQuadRow(acc, 4u * g, bt, rows[0]);
  accumulateQuadRow(acc, 4u * g + 1u, bt, rows[1]);
  accumulateQuadRow(acc, 4u * g + 2u, bt, rows[2]);
  accumulateQuadRow(acc, 4u * g + 3u, bt, rows[3]);
}

// All 16 rows of a 4-k step: gN holds rows 4N .. 4N + 3's 4 k as columns (aQuadGroup). The four
// groups are written out (ROWS WRITTEN OUT in the header).
fn accumulateQuadRows(acc: ptr<function, array<vec4f, 48>>, bt: ptr<function, array<mat4x4f, 3>>,
                      g0: mat4x4f, g1: mat4x4f, g2: mat4x4f, g3: mat4x4f) {
  accumulateQuadGroup(acc, 0u, bt, g0);
  accumulateQuadGroup(acc, 1u, bt, g1);
  accumulateQuadGroup(acc, 2u, bt, g2);
  accumulateQuadGroup(acc, 3u, bt, g3);
}

// op(A) rows 4g .. 4g + 3 at k = 4 kq .. 4 kq + 3 as the columns of a matrix (column i: row 4g + i),
// for the vec4-along-k tiles: `aAt` holds each row's vec4 index at k = 0 (A stored [M, K]), or with
// transA each group's (A stored [K, M]: the 4 rows at one k are one vec4, transposed here).
fn aQuadGroup(aBase4: u32, aAt: ptr<function, array<u32, 16>>, g: u32, kq: u32) -> mat4x4f {
  if (transA) {
    let m4 = params.M / 4u;
    let at = aBase4 + 4u * kq * m4 + (*aAt)[g];
    return transpose(mat4x4f(aQuad(at), aQuad(at + m4), aQuad(at + 2u * m4), aQuad(at + 3u * m4)));
  }
  let at = aBase4 + kq;
  return mat4x4f(aQuad(at + (*aAt)[4u * g]), aQuad(at + (*aAt)[4u * g + 1u]),
                 aQuad(at + (*aAt)[4u * g + 2u]), aQuad(at + (*aAt)[4u * g + 3u]));
}

@compute @workgroup_size(wgCols, wgRows)
fn matmulRegisterTile(@builtin(global_invocation_id) gid: vec3u, @builtin(workgroup_id) wid: vec3u,
                      @builtin(num_workgroups) nwg: vec3u) {
  let row0 = gid.y * TILE_ROWS;
  let col0 = gid.x * TILE_COLS;
  if (row0 >= params.M || col0 >= params.N) {
    return;
  }
  var rows = tileRows(row0);
  var cols: array<u32, 12>;
  for (var j = 0u; j < TILE_COLS; j++) {
    cols[j] = min(col0 + j, params.N - 1u);
  }
  for (var outB = wid.z; outB < outputCount(); outB += nwg.z) {
    var acc = array<vec4f, 48>(); // zeros written out: see ZERO INIT in the header
    for (var b = firstProduct(outB); b < endProduct(outB); b++) {
      let aBase = b * params.aBatchStride;
      let bBase = b * params.bBatchStride;
      for (var k = 0u; k < params.K; k++) {
        let b0 = vec4f(loadB(bBase, k, cols[0]), loadB(bBase, k, cols[1]), loadB(bBase, k, cols[2]), loadB(bBase, k, cols[3]));
        let b1 = vec4f(loadB(bBase, k, cols[4]), loadB(bBase, k, cols[5]), loadB(bBase, k, cols[6]), loadB(bBase, k, cols[7]));
        let b2 = vec4f(loadB(bBase, k, cols[8]), loadB(bBase, k, cols[9]), loadB(bBase, k, cols[10]), loadB(bBase, k, cols[11]));
        tileStep(&acc, &rows, aBase, k, b0, b1, b2);
      }
    }
    storeTile(&acc, outB, row0, col0);
  }
}

// The same tile reading each op(B) row segment as three vec4 loads: B stored [K, N] (no transB)
// with N % 4 == 0 and bBatchStride % 4 == 0, so the 12 columns are 3 aligned vec4s.
@compute @workgroup_size(wgCols, wgRows)
fn matmulRegisterTileVec4(@builtin(global_invocation_id) gid: vec3u, @builtin(workgroup_id) wid: vec3u,
                          @builtin(num_workgroups) nwg: vec3u) {
  let row0 = gid.y * TILE_ROWS;
  let col0 = gid.x * TILE_COLS;
  if (row0 >= params.M || col0 >= params.N) {
    return;
  }
  var rows = tileRows(row0);
  let n4 = params.N / 4u;
  // vec4 column indexes, clamped at the right edge like the rows.
  let c0 = min(col0 / 4u, n4 - 1u);
  let c1 = min(col0 / 4u + 1u, n4 - 1u);
  let c2 = min(col0 / 4u + 2u, n4 - 1u);
  for (var outB = wid.z; outB < outputCount(); outB += nwg.z) {
    var acc = array<vec4f, 48>(); // zeros written out: see ZERO INIT in the header
    for (var b = firstProduct(outB); b < endProduct(outB); b++) {
      let aBase = b * params.aBatchStride;
      let bBase4 = b * (params.bBatchStride / 4u);
      for (var k = 0u; k < params.K; k++) {
        let rowK = bBase4 + k * n4;
        tileStep(&acc, &rows, aBase, k, bQuad(rowK + c0), bQuad(rowK + c1), bQuad(rowK + c2));
      }
    }
    storeTile(&acc, outB, row0, col0);
  }
}

// op(B) = Bᵀ at k = 4 kq .. + 3 for columns 4h .. 4h + 3 (B stored [N, K]): bt[kk] is k + kk's row.
fn bColumnsBlock(at: u32, colsK: ptr<function, array<u32, 12>>, h: u32) -> mat4x4f {
  return transpose(mat4x4f(bQuad(at + (*colsK)[4u * h]), bQuad(at + (*colsK)[4u * h + 1u]),
                           bQuad(at + (*colsK)[4u * h + 2u]), bQuad(at + (*colsK)[4u * h + 3u])));
}

// The same tile for A·Bᵀ (no transA, transB: dense forward, conv dW) reading both operands as vec4s
// along k, 4 k per step: K, aBatchStride and bBatchStride multiples of 4. The 12 columns' vec4s
// are transposed (free: SoA lanes) into three [4 k x 4 columns] matrices, then acc row i += B * a_i.
@compute @workgroup_size(wgCols, wgRows)
fn matmulRegisterTileVec4K(@builtin(global_invocation_id) gid: vec3u, @builtin(workgroup_id) wid: vec3u,
                           @builtin(num_workgroups) nwg: vec3u) {
  let row0 = gid.y * TILE_ROWS;
  let col0 = gid.x * TILE_COLS;
  if (row0 >= params.M || col0 >= params.N) {
    return;
  }
  let k4 = params.K / 4u;
  var rowsK: array<u32, 16>; // vec4 index of (row i, k = 0), rows clamped like tileRows
  for (var i = 0u; i < TILE_ROWS; i++) { rowsK[i] = min(row0 + i, params.M - 1u) * k4; }
  var colsK: array<u32, 12>; // vec4 index of (column j, k = 0) in B stored [N, K]
  for (var j = 0u; j < TILE_COLS; j++) { colsK[j] = min(col0 + j, params.N - 1u) * k4; }
  for (var outB = wid.z; outB < outputCount(); outB += nwg.z) {
    var acc = array<vec4f, 48>(); // zeros written out: see ZERO INIT in the header
    for (var b = firstProduct(outB); b < endProduct(outB); b++) {
      let aBase4 = b * (params.aBatchStride / 4u);
      let bBase4 = b * (params.bBatchStride / 4u);
      for (var kq = 0u; kq < k4; kq++) {
        let at = bBase4 + kq;
        // bt[h][kk] = op(B)[4 kq + kk, columns 4h .. 4h + 3]
        var bt = array<mat4x4f, 3>(bColumnsBlock(at, &colsK, 0u), bColumnsBlock(at, &colsK, 1u),
                                   bColumnsBlock(at, &colsK, 2u));
        accumulateQuadRows(&acc, &bt, aQuadGroup(aBase4, &rowsK, 0u, kq), aQuadGroup(aBase4, &rowsK, 1u, kq),
                           aQuadGroup(aBase4, &rowsK, 2u, kq), aQuadGroup(aBase4, &rowsK, 3u, kq));
      }
    }
    storeTile(&acc, outB, row0, col0);
  }
}

// op(B) rows at .. at + 3 n4 (4 k of B stored [K, N]) at one vec4 of columns: bt[kk] is k + kk's.
fn bRowsBlock(at: u32, n4: u32) -> mat4x4f {
  return mat4x4f(bQuad(at), bQuad(at + n4), bQuad(at + 2u * n4), bQuad(at + 3u * n4));
}

// The same tile for A·B and Aᵀ·B (no transB), 4 k per step with both operands read as vec4s:
// op(B) rows 4 kq .. 4 kq + 3 give three [4 k x 4 columns] matrices (12 loads); op(A) row i's 4 k
// are one vec4 (16 loads), or with transA come from 4 rows x 4 k read as 4 vec4s and transposed
// (16 loads). So 28 vec4 loads per 768 FMAs, against 16 scalar + 3 vec4 loads per 192 in
// matmulRegisterTileVec4. Needs K, N, the batch strides (and M with transA) multiples of 4.
@compute @workgroup_size(wgCols, wgRows)
fn matmulRegisterTileQuadK(@builtin(global_invocation_id) gid: vec3u, @builtin(workgroup_id) wid: vec3u,
                           @builtin(num_workgroups) nwg: vec3u) {
  let row0 = gid.y * TILE_ROWS;
  let col0 = gid.x * TILE_COLS;
  if (row0 >= params.M || col0 >= params.N) {
    return;
  }
  let k4 = params.K / 4u;
  let n4 = params.N / 4u;
  let m4 = params.M / 4u;
  // vec4 column indexes of op(B), clamped at the right edge like the rows.
  let cols = min(vec3u(col0 / 4u) + vec3u(0u, 1u, 2u), vec3u(n4 - 1u));
  // vec4 index at k = 0: of row i's k run (A stored [M, K]), or with transA of the 4 rows of
  // group i < 4 (A stored [K, M]); rows clamped to M - 1 (storeTile drops them).
  var aAt: array<u32, 16>;
  for (var i = 0u; i < TILE_ROWS; i++) {
    aAt[i] = select(min(row0 + i, params.M - 1u) * k4, min(row0 / 4u + i, m4 - 1u), transA);
  }
  for (var outB = wid.z; outB < outputCount(); outB += nwg.z) {
    var acc = array<vec4f, 48>(); // zeros written out: see ZERO INIT in the header
    for (var b = firstProduct(outB); b < endProduct(outB); b++) {
      let aBase4 = b * (params.aBatchStride / 4u);
      let bBase4 = b * (params.bBatchStride / 4u);
      for (var kq = 0u; kq < k4; kq++) {
        let r0 = bBase4 + 4u * kq * n4;
        // bt[h][kk] = op(B)[4 kq + kk, columns 4h .. 4h + 3]
        var bt = array<mat4x4f, 3>(bRowsBlock(r0 + cols.x, n4), bRowsBlock(r0 + cols.y, n4),
                                   bRowsBlock(r0 + cols.z, n4));
        accumulateQuadRows(&acc, &bt, aQuadGroup(aBase4, &aAt, 0u, kq), aQuadGroup(aBase4, &aAt, 1u, kq),
                           aQuadGroup(aBase4, &aAt, 2u, kq), aQuadGroup(aBase4, &aAt, 3u, kq));
      }
    }
    storeTile(&acc, outB, row0, col0);
  }
}

// ---- workgroup tile: stage [32 x 32] slices of op(A) and op(B) in workgroup memory

var<workgroup> tileA: array<f32, 1024>; // [WG_K][WG_TILE]: tileA[kk * 32 + r] = op(A)[row0 + r, k0 + kk]
var<workgroup> tileB: array<f32, 1024>; // [WG_K][WG_TILE]: tileB[kk * 32 + c] = op(B)[k0 + kk, col0 + c]

// The 64 threads stage the first `depth` k rows of both slices (16 elements each when depth is
// 32); rows and columns outside the matrices are staged as 0.
fn stageSlices(aBase: u32, bBase: u32, row0: u32, col0: u32, k0: u32, depth: u32, thread: u32) {
  for (var e = thread; e < depth * WG_TILE; e += WG_THREADS * WG_THREADS) {
    let k = k0 + e / WG_TILE;
    let rc = e % WG_TILE;
    tileA[e] = select(0.0, loadA(aBase, min(row0 + rc, params.M - 1u), k), row0 + rc < params.M);
    tileB[e] = select(0.0, loadB(bBase, k, min(col0 + rc, params.N - 1u)), col0 + rc < params.N);
  }
}

@compute @workgroup_size(8, 8)
fn matmulWorkgroupTile(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                       @builtin(local_invocation_id) lid: vec3u, @builtin(local_invocation_index) thread: u32) {
  let row0 = wid.y * WG_TILE;
  let col0 = wid.x * WG_TILE;
  // Workgroup-uniform guard: an invocation may not return before the barriers below.
  if (row0 >= params.M || col0 >= params.N) {
    return;
  }
  for (var outB = wid.z; outB < outputCount(); outB += nwg.z) {
    var acc = array<vec4f, 4>(); // row lid.y * 4 + i, columns lid.x * 4 .. + 3 (ZERO INIT)
    for (var b = firstProduct(outB); b < endProduct(outB); b++) {
      for (var k0 = 0u; k0 < params.K; k0 += WG_K) {
        let depth = min(WG_K, params.K - k0); // workgroup-uniform: the last slice may be shallower
        stageSlices(b * params.aBatchStride, b * params.bBatchStride, row0, col0, k0, depth, thread);
        workgroupBarrier();
        // Blocked sum: the slice's k terms into part, then part into acc, so chains are WG_K long
        // plus one term per slice, not K (times batch with sumBatches) long (see matmulSubgroup.wgsl).
        var part = array<vec4f, 4>(); // ZERO INIT
        for (var kk = 0u; kk < depth; kk++) {
          let ta = kk * WG_TILE + lid.y * 4u; // this thread's 4 rows at k0 + kk
          let tb = kk * WG_TILE + lid.x * 4u; // this thread's 4 columns at k0 + kk
          let aCol = vec4f(tileA[ta], tileA[ta + 1u], tileA[ta + 2u], tileA[ta + 3u]);
          let bRow = vec4f(tileB[tb], tileB[tb + 1u], tileB[tb + 2u], tileB[tb + 3u]);
          for (var i = 0u; i < 4u; i++) {
            part[i] = fma(vec4f(aCol[i]), bRow, part[i]);
          }
        }
        for (var i = 0u; i < 4u; i++) {
          acc[i] += part[i];
        }
        workgroupBarrier(); // the next slice overwrites the tiles
      }
    }
    let outBase = outB * params.outBatchStride;
    for (var i = 0u; i < 4u; i++) {
      let row = row0 + lid.y * 4u + i;
      for (var j = 0u; j < 4u; j++) {
        let col = col0 + lid.x * 4u + j;
        if (row < params.M && col < params.N) {
          cMat[outBase + row * params.N + col] = epilogue(acc[i][j], row, col);
        }
      }
    }
  }
}
