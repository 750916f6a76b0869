// Exercise 6, reference solution: a gather. Each invocation owns one dX element and adds the
// dOut of every window that contains it and chose it as its maximum; no two invocations write
// the same element, so no atomics and no races.

struct Params {
  N: u32, // batch
  C: u32, // channels
  H: u32, // input height
  W: u32, // input width
  K: u32, // window height = width
  stride: u32, // window step, both axes
  OH: u32, // output height
  OW: u32, // output width
}

@group(0) @binding(0) var<storage, read> dOut: array<f32>; // [N, C, OH, OW]
@group(0) @binding(1) var<storage, read> argmax: array<u32>; // [N, C, OH, OW], h * W + w in the plane
@group(0) @binding(2) var<storage, read_write> dX: array<f32>; // [N, C, H, W]
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(64)
fn maxPoolBackward(@builtin(global_invocation_id) gid: vec3u) {
  let p = params;
  let i = gid.x;
  if (i >= p.N * p.C * p.H * p.W) {
    return;
  }
  let plane = i / (p.H * p.W);
  let inPlane = i % (p.H * p.W);
  let h = inPlane / p.W;
  let w = inPlane % p.W;
  // Windows oh with oh*stride <= h < oh*stride + K, clipped to the output.
  let ohFirst = select(0u, (h - p.K) / p.stride + 1u, h >= p.K);
  let owFirst = select(0u, (w - p.K) / p.stride + 1u, w >= p.K);
  let ohLast = min(h / p.stride, p.OH - 1u);
  let owLast = min(w / p.stride, p.OW - 1u);
  var acc = 0.0;
  for (var oh = ohFirst; oh <= ohLast; oh++) {
    for (var ow = owFirst; ow <= owLast; ow++) {
      let o = (plane * p.OH + oh) * p.OW + ow;
      if (argmax[o] == inPlane) {
        acc += dOut[o];
      }
    }
  }
  dX[i] = acc;
}
