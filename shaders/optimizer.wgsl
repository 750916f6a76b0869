// optimizer.wgsl: one optimizer step on one parameter tensor, in place, with torch.optim's formulas
// (float32). g = grad + weightDecay * p (L2 weight decay, as torch.optim), then:
//
//   adamUpdate:     m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//                   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
//   sgdUpdate:      p -= lr g
//   momentumUpdate: buf = g at t = 1, else buf = mu buf + g (dampening 0)
//                   p -= lr buf, or with Nesterov p -= lr (g + mu buf)
//   rmspropUpdate:  v = alpha v + (1 - alpha) g^2;  p -= lr g / (sqrt(v) + eps)
//   optimizerStepBegin: t += 1 (once per training step, before the updates)
//
// Layout: param, grad and state tensors are flat arrays of `count` floats; the step counter is one
// u32 (t, starting at 0), kept on the GPU so a training step is a fixed list of dispatches with no
// CPU write. Bias corrections 1 - beta^t are computed per invocation with f32 pow.
// Reference: Kingma & Ba, "Adam" (2015), Algorithm 1; torch/optim/{adam,sgd,rmsprop}.py.
// One invocation per element; the grid spills into y past 65535 workgroups (linearWorkgroup).
// Overrides: workgroupSize (threads per workgroup), adamPerInvocation (elements per Adam
// invocation, grid-strided).

override workgroupSize: u32 = 256u; // invocations per workgroup
override adamPerInvocation: u32 = 8u; // elements each adamUpdate invocation updates

struct Params {
  count: u32, // number of elements in the parameter tensor
  lr: f32, // learning rate
  beta1: f32, // Adam: decay rate of the first moment m
  beta2: f32, // Adam: decay rate of the second moment v
  eps: f32, // Adam, RMSprop: added to the denominator sqrt(v)
  weightDecay: f32, // L2 penalty: g += weightDecay * p (0 = none)
  momentum: f32, // momentum SGD: mu in buf = mu buf + g
  alpha: f32, // RMSprop: decay rate of the squared-gradient average v
  nesterov: u32, // momentum SGD: 1 = Nesterov (p -= lr (g + mu buf)), 0 = classic
}

// Gradient with L2 weight decay folded in, as torch.optim does before every update rule.
fn decayedGrad(rawGrad: f32, paramValue: f32, decay: f32) -> f32 {
  return rawGrad + decay * paramValue;
}

// ---- step counter
@group(0) @binding(0) var<storage, read_write> stepCounter: array<u32>; // [t]

@compute @workgroup_size(1)
fn optimizerStepBegin(@builtin(local_invocation_index) lid: u32) {
  if (lid >= 1u) {
    return;
  }
  stepCounter[0] += 1u;
}

// ---- Adam
@group(0) @binding(0) var<storage, read> adamGrad: array<f32>; // dL/dp
@group(0) @binding(1) var<storage, read> adamStep: array<u32>; // [t], t >= 1
@group(0) @binding(2) var<storage, read_write> adamParam: array<f32>; // p, updated in place
@group(0) @binding(3) var<storage, read_write> adamM: array<f32>; // first moment m (starts at 0)
@group(0) @binding(4) var<storage, read_write> adamV: array<f32>; // second moment v (starts at 0)
@group(0) @binding(5) var<uniform> adamHyper: Params;

@compute @workgroup_size(workgroupSize)
fn adamUpdate(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
              @builtin(local_invocation_index) lid: u32) {
  let first = linearWorkgroup(wid, nwg) * workgroupSize + lid;
  // Bias corrections make m and v unbiased estimates despite their zero start. They are the
  // same for every element, so each invocation computes them once for its adamPerInvocation
  // elements (pow is the costliest part of the update on a CPU "GPU").
  let t = f32(adamStep[0]);
  let stepSize = adamHyper.lr / (1.0 - pow(adamHyper.beta1, t));
  let invSqrtCorrection2 = 1.0 / sqrt(1.0 - pow(adamHyper.beta2, t));
  // Grid-stride: element first + k * invocations, so neighbouring lanes touch neighbours.
  let invocations = nwg.x * nwg.y * workgroupSize;
  for (var k = 0u; k < adamPerInvocation; k++) {
    let i = first + k * invocations;
    if (i >= adamHyper.count) {
      return;
    }
    let p = adamParam[i];
    let g = decayedGrad(adamGrad[i], p, adamHyper.weightDecay);
    let m = adamHyper.beta1 * adamM[i] + (1.0 - adamHyper.beta1) * g;
    let v = adamHyper.beta2 * adamV[i] + (1.0 - adamHyper.beta2) * g * g;
    adamM[i] = m;
    adamV[i] = v;
    let denom = sqrt(v) * invSqrtCorrection2 + adamHyper.eps;
    adamParam[i] = p - stepSize * m / denom;
  }
}

// ---- SGD
@group(0) @binding(0) var<storage, read> sgdGrad: array<f32>; // dL/dp
@group(0) @binding(1) var<storage, read_write> sgdParam: array<f32>; // p, updated in place
@group(0) @binding(2) var<uniform> sgdHyper: Params;

@compute @workgroup_size(workgroupSize)
fn sgdUpdate(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
             @builtin(local_invocation_index) lid: u32) {
  let i = linearWorkgroup(wid, nwg) * workgroupSize + lid;
  if (i >= sgdHyper.count) {
    return;
  }
  let p = sgdParam[i];
  sgdParam[i] = p - sgdHyper.lr * decayedGrad(sgdGrad[i], p, sgdHyper.weightDecay);
}

// ---- SGD with momentum
@group(0) @binding(0) var<storage, read> momentumGrad: array<f32>; // dL/dp
@group(0) @binding(1) var<storage, read> momentumStep: array<u32>; // [t], t >= 1
@group(0) @binding(2) var<storage, read_write> momentumParam: array<f32>; // p, updated in place
@group(0) @binding(3) var<storage, read_write> momentumBuf: array<f32>; // velocity buf
@group(0) @binding(4) var<uniform> momentumHyper: Params;

@compute @workgroup_size(workgroupSize)
fn momentumUpdate(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                  @builtin(local_invocation_index) lid: u32) {
  let i = linearWorkgroup(wid, nwg) * workgroupSize + lid;
  if (i >= momentumHyper.count) {
    return;
  }
  let p = momentumParam[i];
  let g = decayedGrad(momentumGrad[i], p, momentumHyper.weightDecay);
  let mu = momentumHyper.momentum;
  // torch starts the buffer at the first gradient (not at 0), so t = 1 ignores the old value.
  let buf = select(mu * momentumBuf[i] + g, g, momentumStep[0] <= 1u);
  momentumBuf[i] = buf;
  let direction = select(buf, g + mu * buf, momentumHyper.nesterov != 0u);
  momentumParam[i] = p - momentumHyper.lr * direction;
}

// ---- RMSprop
@group(0) @binding(0) var<storage, read> rmspropGrad: array<f32>; // dL/dp
@group(0) @binding(1) var<storage, read_write> rmspropParam: array<f32>; // p, updated in place
@group(0) @binding(2) var<storage, read_write> rmspropV: array<f32>; // mean of g^2 (starts at 0)
@group(0) @binding(3) var<uniform> rmspropHyper: Params;

@compute @workgroup_size(workgroupSize)
fn rmspropUpdate(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                 @builtin(local_invocation_index) lid: u32) {
  let i = linearWorkgroup(wid, nwg) * workgroupSize + lid;
  if (i >= rmspropHyper.count) {
    return;
  }
  let p = rmspropParam[i];
  let g = decayedGrad(rmspropGrad[i], p, rmspropHyper.weightDecay);
  let v = rmspropHyper.alpha * rmspropV[i] + (1.0 - rmspropHyper.alpha) * g * g;
  rmspropV[i] = v;
  rmspropParam[i] = p - rmspropHyper.lr * g / (sqrt(v) + rmspropHyper.eps);
}
