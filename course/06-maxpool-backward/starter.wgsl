// Exercise 6: max-pool backward.
//
// The forward pass took the maximum of each K x K window (step `stride`, no padding) and
// recorded where it was: argmax[n, c, oh, ow] = h * W + w within the (n, c) plane.
// The gradient goes only to that maximum:
//   dX[n, c, h, w] = sum of dOut[n, c, oh, ow] over the windows (oh, ow) whose argmax is (h, w)
// and 0 for inputs no window chose. Windows may overlap (stride < K), so one input can collect
// several gradients. Write it as a GATHER: one invocation per dX element, looping over the
// windows that contain it (a scatter from dOut would need atomics, and floats have none).
// The grader dispatches ceil(N*C*H*W / 64) workgroups of 64 along x.
//
// Check it with:  npx shadergrad check maxpool-backward maxpool-backward.wgsl

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
  let i = gid.x;
  // TODO: which plane and which (h, w) is element i?
  // TODO: which windows (oh, ow) contain (h, w)? Careful with unsigned subtraction.
  // TODO: add the dOut of those whose argmax is this element; write dX[i].
}
