// Exercise 5: im2col, the matrix a convolution multiplies.
//
// Unfold x [N, C, H, W] into cols [N, C*K*K, OH*OW]:
//   cols[n, (c*K + kh)*K + kw, oh*OW + ow] = x[n, c, oh*stride - pad + kh, ow*stride - pad + kw]
// and 0 where that position lies in the padding (outside the image).
// Then a convolution with weights [O, C*K*K] is one matrix multiply per image.
// The grader dispatches ceil(N*C*K*K*OH*OW / 64) workgroups of 64 along x: one invocation
// per element of cols.
//
// Check it with:  npx shadergrad check im2col im2col.wgsl

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
  let i = gid.x;
  // TODO: from i, find n, the row (c, kh, kw) and the column (oh, ow).
  // TODO: find the input position (h, w); careful, it can be negative.
  // TODO: write cols[i]: the input value, or 0 over the padding.
}
