// Exercise 2, reference solution: strided partial sums, then a tree in workgroup memory.

struct Params {
  count: u32, // elements in x
}

@group(0) @binding(0) var<storage, read> x: array<f32>; // input, [count]
@group(0) @binding(1) var<storage, read_write> total: array<f32>; // output, [1]
@group(0) @binding(2) var<uniform> params: Params;

var<workgroup> partialSums: array<f32, 64>; // one partial sum per invocation

@compute @workgroup_size(64)
fn sum(@builtin(local_invocation_index) lid: u32) {
  var acc = 0.0;
  for (var i = lid; i < params.count; i += 64u) {
    acc += x[i];
  }
  partialSums[lid] = acc;
  workgroupBarrier(); // every partial sum written before any is read
  for (var stride = 32u; stride > 0u; stride /= 2u) {
    if (lid < stride) {
      partialSums[lid] += partialSums[lid + stride];
    }
    workgroupBarrier(); // this level done before the next reads it
  }
  if (lid == 0u) {
    total[0] = partialSums[0];
  }
}
