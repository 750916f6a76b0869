// Exercise 3, reference solution: one invocation per element of c.

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
  if (m >= params.M || n >= params.N) {
    return;
  }
  var acc = 0.0;
  for (var k = 0u; k < params.K; k++) {
    acc += a[m * params.K + k] * b[k * params.N + n];
  }
  c[m * params.N + n] = acc;
}
