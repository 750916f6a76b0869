// activation.wgsl: elementwise activations and their gradients.
//
//   activationForward:  y[i]  = f(x[i])                      for i < count
//   activationBackward: dx[i] = dy[i] * f'(x[i]), written with y = f(x): relu' = [y > 0],
//                       sigmoid' = y(1 - y), tanh' = 1 - y^2 (so backward needs y, not x)
//
// Any layout: tensors are flat arrays of `count` floats. One invocation per element; the grid
// spills into y past 65535 workgroups (linearWorkgroup in common.wgsl).
// Overrides: workgroupSize (threads per workgroup), activation (ACT_* code in common.wgsl).

override workgroupSize: u32 = 256u; // invocations per workgroup
override activation: u32 = ACT_RELU; // which function: ACT_NONE, ACT_RELU, ACT_SIGMOID, ACT_TANH

struct Params {
  count: u32, // number of elements
}

// ---- forward
@group(0) @binding(0) var<storage, read> x: array<f32>; // input
@group(0) @binding(1) var<storage, read_write> y: array<f32>; // output f(x)
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(workgroupSize)
fn activationForward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                     @builtin(local_invocation_index) lid: u32) {
  let i = linearWorkgroup(wid, nwg) * workgroupSize + lid;
  if (i >= params.count) {
    return;
  }
  y[i] = activate(x[i], activation);
}

// ---- backward
@group(0) @binding(0) var<storage, read> yOut: array<f32>; // forward output f(x)
@group(0) @binding(1) var<storage, read> dY: array<f32>; // dL/dy
@group(0) @binding(2) var<storage, read_write> dX: array<f32>; // dL/dx
@group(0) @binding(3) var<uniform> backwardParams: Params;

@compute @workgroup_size(workgroupSize)
fn activationBackward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                      @builtin(local_invocation_index) lid: u32) {
  let i = linearWorkgroup(wid, nwg) * workgroupSize + lid;
  if (i >= backwardParams.count) {
    return;
  }
  dX[i] = activationGrad(yOut[i], dY[i], activation);
}
