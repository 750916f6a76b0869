// Exercise 1: ReLU, a first kernel.
//
// Compute y[i] = max(x[i], 0) for every i < params.count.
// The grader dispatches ceil(count / 64) workgroups along x, so the last workgroup has
// invocations past the end of the arrays: they must not write.
//
// Check it with:  npx shadergrad check relu relu.wgsl

struct Params {
  count: u32, // elements in x and y
}

@group(0) @binding(0) var<storage, read> x: array<f32>; // input, [count]
@group(0) @binding(1) var<storage, read_write> y: array<f32>; // output, [count]
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(64)
fn relu(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x;
  // TODO: write y[i] (and only for the i that exist).
}
