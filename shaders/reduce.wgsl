// reduce.wgsl: the batch loss as one number, kept on the GPU.
//
//   lossMean: total[0] = (accumulate ? total[0] : 0) + scale * sum_n loss[n]     n < count
//
// With scale = 1/N this is the mean of per-sample losses (softmaxCrossEntropyForward); with
// scale = 1 it adds up partial sums that already carry their 1/(N*D) (mseForward). accumulate
// lets a training loop add every step's loss into an epoch total and read it back once.
// One workgroup: each invocation sums a strided slice of loss, then a tree reduction in workgroup
// memory halves the partial sums log2(workgroupSize) times with a barrier between steps. The order
// of additions is fixed, so the result is deterministic without atomics.
// Overrides: workgroupSize (a power of two <= maxWorkgroupSize).

// Largest workgroupSize: the workgroup array has a fixed length, since the race detector
// (wgsl_reflect) cannot size a workgroup array from an override.
const maxWorkgroupSize: u32 = 256u;
override workgroupSize: u32 = 256u; // invocations in the one workgroup; a power of two <= 256

struct Params {
  count: u32, // number of per-sample losses (N)
  scale: f32, // multiplies the sum: 1/N for a mean, 1 for pre-scaled partial sums
  accumulate: u32, // 1: add to total[0]; 0: overwrite it
}

@group(0) @binding(0) var<storage, read> loss: array<f32>; // [N] per-sample losses
@group(0) @binding(1) var<storage, read_write> total: array<f32>; // [1] the (running) mean
@group(0) @binding(2) var<uniform> params: Params;

var<workgroup> partialSums: array<f32, maxWorkgroupSize>; // one partial sum per invocation

@compute @workgroup_size(workgroupSize)
fn lossMean(@builtin(local_invocation_index) lid: u32) {
  // Bounds: the strided loop reads only n < count; only invocation 0 writes total.
  var acc = 0.0;
  for (var n = lid; n < params.count; n += workgroupSize) {
    acc += loss[n];
  }
  partialSums[lid] = acc;
  workgroupBarrier();
  // Tree: each step folds the upper half of the live slots onto the lower half.
  for (var stride = workgroupSize / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) {
      partialSums[lid] += partialSums[lid + stride];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    var previous = 0.0;
    if (params.accumulate != 0u) {
      previous = total[0];
    }
    total[0] = previous + params.scale * partialSums[0];
  }
}
