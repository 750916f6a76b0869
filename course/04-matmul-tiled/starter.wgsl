// Exercise 4: matrix multiply with tiles in workgroup memory.
//
// Same contract as exercise 3 (c = a · b, row-major, a [M, K], b [K, N], c [M, N]), but each
// workgroup of 16 x 16 invocations computes a 16 x 16 tile of c and walks K in steps of 16:
//   1. each invocation loads ONE element of the a tile and ONE of the b tile into workgroup
//      memory (0 where the tile hangs past the matrix);
//   2. barrier; every invocation accumulates 16 products from the tiles; barrier again before
//      the next step overwrites them;
//   3. at the end, the invocations inside c write their element.
// Careful: every invocation must reach every barrier, even the ones outside c.
// The grader dispatches ceil(N / 16) x ceil(M / 16) workgroups; workgroup_id.x walks columns.
//
// Check it with:  npx shadergrad check matmul-tiled matmul-tiled.wgsl

struct Params {
  M: u32, // rows of a and c
  K: u32, // columns of a, rows of b
  N: u32, // columns of b and c
}

@group(0) @binding(0) var<storage, read> a: array<f32>; // [M, K]
@group(0) @binding(1) var<storage, read> b: array<f32>; // [K, N]
@group(0) @binding(2) var<storage, read_write> c: array<f32>; // [M, N]
@group(0) @binding(3) var<uniform> params: Params;

const TILE: u32 = 16u;
var<workgroup> aTile: array<array<f32, 16>, 16>; // [row in tile][k in tile]
var<workgroup> bTile: array<array<f32, 16>, 16>; // [k in tile][column in tile]

@compute @workgroup_size(16, 16)
fn matmulTiled(@builtin(local_invocation_id) lid: vec3u, @builtin(workgroup_id) wid: vec3u) {
  let m = wid.y * TILE + lid.y;
  let n = wid.x * TILE + lid.x;
  var acc = 0.0;
  // TODO: loop over the K tiles: load, barrier, accumulate, barrier.
  // TODO: write c[m * N + n] if (m, n) is inside c.
}
