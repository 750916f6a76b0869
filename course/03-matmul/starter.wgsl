// Exercise 3: matrix multiply, one output per invocation.
//
// Compute c = a · b, all row-major: a is [M, K], b is [K, N], c is [M, N], so
//   c[m * N + n] = sum over k of a[m * K + k] * b[k * N + n].
// The grader dispatches ceil(N / 8) x ceil(M / 8) workgroups of 8 x 8 invocations: the
// invocation at global id (x, y) computes c at row m = y, column n = x (if it exists).
//
// Check it with:  npx shadergrad check matmul matmul.wgsl

struct Params {
  M: u32, // rows of a and c
  K: u32, // columns of a, rows of b
  N: u32, // columns of b and c
}

@group(0) @binding(0) var<storage, read> a: array<f32>; // [M, K]
@group(0) @binding(1) var<storage, read> b: array<f32>; // [K, N]
@group(0) @binding(2) var<storage, read_write> c: array<f32>; // [M, N]
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(8, 8)
fn matmul(@builtin(global_invocation_id) gid: vec3u) {
  let n = gid.x;
  let m = gid.y;
  // TODO: the dot product of row m of a with column n of b, into c.
}
