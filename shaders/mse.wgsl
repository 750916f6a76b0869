// mse.wgsl: mean squared error, PyTorch MSELoss(reduction='mean') over pred and target [N, D].
//
//   mseForward:  loss[n] = sum_d (pred[n,d] - target[n,d])^2 / (N*D)   per-sample partial sums
//   mseBackward: dPred[i] = 2 (pred[i] - target[i]) / (N*D)            d(mean)/d(pred)
//
// The forward keeps one partial sum per sample so the batch loss is their plain sum:
// reduce.wgsl's lossMean with scale = 1 gives sum_{n,d} (pred - target)^2 / (N*D), the mean.
// invCount = 1/(N*D) is computed once on the CPU in float64 and rounded to f32.
// Forward: one invocation per sample (row). Backward: one invocation per element; the grid spills
// into y past 65535 workgroups (linearWorkgroup in common.wgsl).
// Overrides: workgroupSize (invocations per workgroup).

override workgroupSize: u32 = 64u; // invocations per workgroup

struct Params {
  N: u32, // batch size (rows)
  D: u32, // values per sample (columns)
  invCount: f32, // 1 / (N*D), the mean's weight
}

// Shared by both entry points, at the same bindings.
@group(0) @binding(0) var<storage, read> pred: array<f32>; // [N, D] predictions
@group(0) @binding(1) var<storage, read> targets: array<f32>; // [N, D] (`target` is reserved in WGSL)

// ---- forward
@group(0) @binding(2) var<storage, read_write> loss: array<f32>; // [N] partial sums of the mean
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(workgroupSize)
fn mseForward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
              @builtin(local_invocation_index) lid: u32) {
  let n = linearWorkgroup(wid, nwg) * workgroupSize + lid;
  if (n >= params.N) {
    return;
  }
  let base = n * params.D;
  var sumSquares = 0.0;
  for (var d = 0u; d < params.D; d++) {
    let diff = pred[base + d] - targets[base + d];
    sumSquares += diff * diff;
  }
  loss[n] = sumSquares * params.invCount;
}

// ---- backward: d/dpred of sum (pred - target)^2 / (N*D) = 2 (pred - target) / (N*D)
@group(0) @binding(2) var<storage, read_write> dPred: array<f32>; // [N, D]
@group(0) @binding(3) var<uniform> backwardParams: Params;

@compute @workgroup_size(workgroupSize)
fn mseBackward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
               @builtin(local_invocation_index) lid: u32) {
  let i = linearWorkgroup(wid, nwg) * workgroupSize + lid;
  if (i >= backwardParams.N * backwardParams.D) {
    return;
  }
  dPred[i] = 2.0 * (pred[i] - targets[i]) * backwardParams.invCount;
}
