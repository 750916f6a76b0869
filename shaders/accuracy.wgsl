// accuracy.wgsl: how many samples the logits classify correctly, and the predicted classes.
//
//   accuracyCount:  correct[0] = (accumulate ? correct[0] : 0) + #{n : argmax_k logits[n,k] == labels[n]}
//   accuracyArgmax: predictions[n] = argmax_k logits[n, k]
//
// Layout: logits [N, K] row-major, labels i32 [N], correct u32 [1], predictions u32 [N]. The
// argmax keeps the first maximum on ties (strict >), like the CPU twin; a label outside [0, K)
// is never correct. accumulate lets an epoch's count build up on the GPU, read back once.
// accuracyCount runs one workgroup: each invocation counts a strided slice of the samples, then a
// tree reduction in workgroup memory halves the counts log2(workgroupSize) times with a barrier
// between steps (integer sums: exact and deterministic, no atomics). accuracyArgmax runs one
// invocation per sample; the grid spills into y past 65535 workgroups.
// Overrides: workgroupSize (accuracyCount: a power of two <= maxWorkgroupSize).

// Largest workgroupSize for accuracyCount: the workgroup array has a fixed length, since the race
// detector (wgsl_reflect) cannot size a workgroup array from an override.
const maxWorkgroupSize: u32 = 256u;
override workgroupSize: u32 = 256u; // invocations per workgroup

struct Params {
  N: u32, // samples (rows)
  K: u32, // classes (columns)
  accumulate: u32, // accuracyCount: 1 adds to correct[0], 0 overwrites it; unused by accuracyArgmax
}

// Shared by both entry points, at the same binding.
@group(0) @binding(0) var<storage, read> logits: array<f32>; // [N, K]

// Index of the row's largest logit; the first one wins ties (accuracyCount has its own copy).
fn rowArgmax(row: u32, classes: u32) -> u32 {
  let base = row * classes;
  var best = 0u;
  var bestValue = logits[base];
  for (var k = 1u; k < classes; k++) {
    let value = logits[base + k];
    if (value > bestValue) {
      best = k;
      bestValue = value;
    }
  }
  return best;
}

// ---- count
@group(0) @binding(1) var<storage, read> labels: array<i32>; // [N] true classes
@group(0) @binding(2) var<storage, read_write> correct: array<u32>; // [1] the (running) count
@group(0) @binding(3) var<uniform> params: Params;

var<workgroup> partialCounts: array<u32, maxWorkgroupSize>; // one count per invocation

@compute @workgroup_size(workgroupSize)
fn accuracyCount(@builtin(local_invocation_index) lid: u32) {
  // Bounds: the strided loop visits only n < N; only invocation 0 writes correct.
  var hits = 0u;
  for (var n = lid; n < params.N; n += workgroupSize) {
    // rowArgmax written out: wgsl_reflect's race detector shares a helper function's locals
    // between the invocations it runs in lockstep, so a call here would compute wrong counts there.
    let base = n * params.K;
    var best = 0u;
    var bestValue = logits[base];
    for (var k = 1u; k < params.K; k++) {
      let value = logits[base + k];
      if (value > bestValue) {
        best = k;
        bestValue = value;
      }
    }
    // i32 compare: a negative label never matches; argmax < K fits in i32 for any real K.
    if (i32(best) == labels[n]) {
      hits += 1u;
    }
  }
  partialCounts[lid] = hits;
  workgroupBarrier();
  // Tree: each step folds the upper half of the live slots onto the lower half.
  for (var stride = workgroupSize / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) {
      partialCounts[lid] += partialCounts[lid + stride];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    var previous = 0u;
    if (params.accumulate != 0u) {
      previous = correct[0];
    }
    correct[0] = previous + partialCounts[0];
  }
}

// ---- argmax
@group(0) @binding(1) var<storage, read_write> predictions: array<u32>; // [N] predicted classes
@group(0) @binding(2) var<uniform> argmaxParams: Params;

@compute @workgroup_size(workgroupSize)
fn accuracyArgmax(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                  @builtin(local_invocation_index) lid: u32) {
  let n = linearWorkgroup(wid, nwg) * workgroupSize + lid;
  if (n >= argmaxParams.N) {
    return;
  }
  predictions[n] = rowArgmax(n, argmaxParams.K);
}
