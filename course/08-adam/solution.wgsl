// Exercise 8, reference solution: one invocation per element; the bias corrections are the same
// for every element (a real kernel would compute them once, on the host or per workgroup).

struct Params {
  count: u32, // elements of param, grad, m and v
  step: u32, // t, counting from 1
  lr: f32, // learning rate
  beta1: f32, // first-moment decay
  beta2: f32, // second-moment decay
  eps: f32, // added to the denominator
}

@group(0) @binding(0) var<storage, read> grad: array<f32>; // dL/dparam
@group(0) @binding(1) var<storage, read_write> param: array<f32>; // updated in place
@group(0) @binding(2) var<storage, read_write> m: array<f32>; // first moment, updated in place
@group(0) @binding(3) var<storage, read_write> v: array<f32>; // second moment, updated in place
@group(0) @binding(4) var<uniform> params: Params;

@compute @workgroup_size(64)
fn adam(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x;
  if (i >= params.count) {
    return;
  }
  let g = grad[i];
  let mNew = params.beta1 * m[i] + (1.0 - params.beta1) * g;
  let vNew = params.beta2 * v[i] + (1.0 - params.beta2) * g * g;
  m[i] = mNew;
  v[i] = vNew;
  let t = f32(params.step);
  let mHat = mNew / (1.0 - pow(params.beta1, t));
  let vHat = vNew / (1.0 - pow(params.beta2, t));
  param[i] -= params.lr * mHat / (sqrt(vHat) + params.eps);
}
