// Exercise 1, reference solution: one invocation per element, guarded by the count.

struct Params {
  count: u32, // elements in x and y
}

@group(0) @binding(0) var<storage, read> x: array<f32>; // input, [count]
@group(0) @binding(1) var<storage, read_write> y: array<f32>; // output, [count]
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(64)
fn relu(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x;
  if (i < params.count) {
    y[i] = max(x[i], 0.0);
  }
}
