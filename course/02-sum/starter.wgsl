// Exercise 2: a workgroup reduction.
//
// Compute total[0] = x[0] + x[1] + ... + x[count - 1] with ONE workgroup of 64 invocations:
//   1. each invocation adds up a strided slice of x (x[lid], x[lid + 64], ...);
//   2. the 64 partial sums go to workgroup memory, and a tree halves them (32, 16, ... 1),
//      with a workgroupBarrier() wherever one invocation reads what another wrote;
//   3. invocation 0 writes total[0].
// The grader dispatches exactly one workgroup, whatever the count.
//
// Check it with:  npx shadergrad check sum sum.wgsl

struct Params {
  count: u32, // elements in x
}

@group(0) @binding(0) var<storage, read> x: array<f32>; // input, [count]
@group(0) @binding(1) var<storage, read_write> total: array<f32>; // output, [1]
@group(0) @binding(2) var<uniform> params: Params;

var<workgroup> partialSums: array<f32, 64>; // one partial sum per invocation

@compute @workgroup_size(64)
fn sum(@builtin(local_invocation_index) lid: u32) {
  // TODO: step 1, the strided partial sum.
  // TODO: step 2, the tree in partialSums.
  // TODO: step 3, total[0].
}
