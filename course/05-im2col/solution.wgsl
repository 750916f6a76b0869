// Exercise 5, reference solution: one invocation per cols element, working backwards from its
// index to the input element it copies.

struct Params {
  N: u32, // batch
  C: u32, // input channels
  H: u32, // input height
  W: u32, // input width
  K: u32, // kernel height = width
  stride: u32, // stride, both axes
  pad: u32, // zero padding before the first row and column
  OH: u32, // output height
  OW: u32, // output width
}

@group(0) @binding(0) var<storage, read> x: array<f32>; // [N, C, H, W]
@group(0) @binding(1) var<storage, read_write> cols: array<f32>; // [N, C*K*K, OH*OW]
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(64)
fn im2col(@builtin(global_invocation_id) gid: vec3u) {
  let p = params;
  let i = gid.x;
  let columns = p.OH * p.OW;
  let rows = p.C * p.K * p.K;
  if (i >= p.N * rows * columns) {
    return;
  }
  let column = i % columns;
  let row = (i / columns) % rows;
  let n = i / (columns * rows);
  let ow = column % p.OW;
  let oh = column / p.OW;
  let kw = row % p.K;
  let kh = (row / p.K) % p.K;
  let c = row / (p.K * p.K);
  // Signed: the window starts `pad` before the image.
  let h = i32(oh * p.stride + kh) - i32(p.pad);
  let w = i32(ow * p.stride + kw) - i32(p.pad);
  var value = 0.0;
  if (h >= 0 && h < i32(p.H) && w >= 0 && w < i32(p.W)) {
    value = x[((n * p.C + c) * p.H + u32(h)) * p.W + u32(w)];
  }
  cols[i] = value;
}
