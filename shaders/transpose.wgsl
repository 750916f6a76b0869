// transpose.wgsl: x.transpose(1, 2) of a 4-D tensor, the copy that splits and merges attention's
// heads ([N, T, H, D] <-> [N, H, T, D]).
//
//   transpose: out[a, c, b, d] = x[a, b, c, d]
//
// Layout: x [A, B, C, D] and out [A, C, B, D], row-major. Its own backward: the gradient of
// out = transpose(x) is dX = transpose(dOut) with B and C swapped. One invocation per row of out
// (a, c, b), copying its D contiguous values (a head's width, 16-64; 1 for a [N, C, S] -> [N, S, C]
// swap): reads and writes are contiguous along d, and the index arithmetic (slow integer division
// on a CPU "GPU") is paid once per row, not per element. A copy, so results are exact. The grid
// spills into y past 65535 workgroups (linearWorkgroup).
// Overrides: workgroupSize.

override workgroupSize: u32 = 64u; // invocations (rows of out) per workgroup

struct Params {
  A: u32, // outer dimension (the batch)
  B: u32, // x's dimension 1, out's dimension 2
  C: u32, // x's dimension 2, out's dimension 1
  D: u32, // innermost dimension, kept in place
}

@group(0) @binding(0) var<storage, read> x: array<f32>; // [A, B, C, D]
@group(0) @binding(1) var<storage, read_write> out: array<f32>; // [A, C, B, D]
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(workgroupSize)
fn transpose(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
             @builtin(local_invocation_index) lid: u32) {
  let row = linearWorkgroup(wid, nwg) * workgroupSize + lid;
  if (row >= params.A * params.C * params.B) {
    return;
  }
  // row = (a * C + c) * B + b in out
  let b = row % params.B;
  let c = (row / params.B) % params.C;
  let a = row / (params.B * params.C);
  let readStart = ((a * params.B + b) * params.C + c) * params.D;
  let writeStart = row * params.D;
  for (var d = 0u; d < params.D; d++) {
    out[writeStart + d] = x[readStart + d];
  }
}
