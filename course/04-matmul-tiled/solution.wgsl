// Exercise 4, reference solution: 16 x 16 tiles of a and b staged in workgroup memory.

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
  for (var k0 = 0u; k0 < params.K; k0 += TILE) {
    let ka = k0 + lid.x; // the column of a this invocation loads
    let kb = k0 + lid.y; // the row of b this invocation loads
    var aValue = 0.0;
    if (m < params.M && ka < params.K) {
      aValue = a[m * params.K + ka];
    }
    var bValue = 0.0;
    if (kb < params.K && n < params.N) {
      bValue = b[kb * params.N + n];
    }
    aTile[lid.y][lid.x] = aValue;
    bTile[lid.y][lid.x] = bValue;
    workgroupBarrier(); // both tiles whole before anyone reads them
    for (var k = 0u; k < TILE; k++) {
      acc += aTile[lid.y][k] * bTile[k][lid.x];
    }
    workgroupBarrier(); // everyone done reading before the next step overwrites them
  }
  if (m < params.M && n < params.N) {
    c[m * params.N + n] = acc;
  }
}
