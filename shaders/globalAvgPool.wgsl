// globalAvgPool.wgsl: torch.nn.AdaptiveAvgPool2d(1), the mean of each channel over H, W.
//
//   globalAvgPoolForward:  out[n, c] = (1/S) sum_s x[n, c, s]
//   globalAvgPoolBackward: dX[n, c, s] = dOut[n, c] / S
//
// Layout: x and dX [N, C, S] row-major (S = H*W), out and dOut [N, C] (the graph calls them
// [N, C, 1, 1]). Forward: one invocation per (n, c) sums its S values in order (S is a feature
// map, at most a few thousand values), so the result is deterministic. Backward: one invocation
// per element of dX. Grids spill into y past 65535 workgroups (linearWorkgroup).
// Overrides: workgroupSize.

override workgroupSize: u32 = 64u; // invocations per workgroup

struct Params {
  rows: u32, // N*C
  S: u32, // spatial size per channel
}

// ---- forward
@group(0) @binding(0) var<storage, read> x: array<f32>; // [N, C, S]
@group(0) @binding(1) var<storage, read_write> out: array<f32>; // [N, C]
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(workgroupSize)
fn globalAvgPoolForward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                        @builtin(local_invocation_index) lid: u32) {
  let row = linearWorkgroup(wid, nwg) * workgroupSize + lid;
  if (row >= params.rows) {
    return;
  }
  var acc = 0.0;
  let start = row * params.S;
  for (var s = 0u; s < params.S; s++) {
    acc += x[start + s];
  }
  out[row] = acc / f32(params.S);
}

// ---- backward
@group(0) @binding(0) var<storage, read> dOut: array<f32>; // [N, C]
@group(0) @binding(1) var<storage, read_write> dX: array<f32>; // [N, C, S]
@group(0) @binding(2) var<uniform> backwardParams: Params;

@compute @workgroup_size(workgroupSize)
fn globalAvgPoolBackward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                         @builtin(local_invocation_index) lid: u32) {
  let i = linearWorkgroup(wid, nwg) * workgroupSize + lid;
  if (i >= backwardParams.rows * backwardParams.S) {
    return;
  }
  dX[i] = dOut[i / backwardParams.S] / f32(backwardParams.S);
}
