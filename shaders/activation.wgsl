// activation.wgsl: elementwise activations and their gradients.
//
//   activationForward:  y[i]  = f(x[i])                      for i < count
//   activationBackward: dx[i] = dy[i] * f'(x[i]), written with y = f(x): relu' = [y > 0],
//                       sigmoid' = y(1 - y), tanh' = 1 - y^2 (so backward needs y, not x)
//
// Any layout: tensors are flat arrays of `count` floats. One invocation per element; the grid
// spills into y past 65535 workgroups (linearWorkgroup in common.wgsl). The *Quads entry points
// (count % 4 == 0) take 4 elements per invocation as one vec4 per tensor: a quarter of the loads
// and stores (lavapipe splits each into per-lane scalar accesses with bounds checks; a GPU moves
// 16 bytes per transaction), with the same per-element arithmetic, so the same bits.
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

// ---- forward, 4 elements per invocation (count % 4 == 0)
@group(0) @binding(0) var<storage, read> xQuads: array<vec4f>; // input as vec4s
@group(0) @binding(1) var<storage, read_write> yQuads: array<vec4f>; // output f(x) as vec4s

@compute @workgroup_size(workgroupSize)
fn activationForwardQuads(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                          @builtin(local_invocation_index) lid: u32) {
  let q = linearWorkgroup(wid, nwg) * workgroupSize + lid;
  if (q >= params.count / 4u) {
    return;
  }
  let v = xQuads[q];
  yQuads[q] = vec4f(activate(v.x, activation), activate(v.y, activation),
                    activate(v.z, activation), activate(v.w, activation));
}

// ---- backward, 4 elements per invocation (count % 4 == 0)
@group(0) @binding(0) var<storage, read> yOutQuads: array<vec4f>; // forward output as vec4s
@group(0) @binding(1) var<storage, read> dYQuads: array<vec4f>; // dL/dy as vec4s
@group(0) @binding(2) var<storage, read_write> dXQuads: array<vec4f>; // dL/dx as vec4s

@compute @workgroup_size(workgroupSize)
fn activationBackwardQuads(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                           @builtin(local_invocation_index) lid: u32) {
  let q = linearWorkgroup(wid, nwg) * workgroupSize + lid;
  if (q >= backwardParams.count / 4u) {
    return;
  }
  let y4 = yOutQuads[q];
  let g4 = dYQuads[q];
  dXQuads[q] = vec4f(activationGrad(y4.x, g4.x, activation), activationGrad(y4.y, g4.y, activation),
                     activationGrad(y4.z, g4.z, activation), activationGrad(y4.w, g4.w, activation));
}
