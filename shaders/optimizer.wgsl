// optimizer.wgsl: one optimizer step on one parameter tensor, in place, with torch.optim's formulas
// (float32). g = grad + weightDecay * p (L2 weight decay, as torch.optim; AdamW instead shrinks
// p *= 1 - lr_t weightDecay first and keeps g = grad), then, with lr_t the scheduled learning rate
// (learningRate: warm-up, then constant, step or cosine, from t alone; see optimizer.cpu.ts):
//
//   adamUpdate:     m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2   (AdamW too: decoupledDecay)
//                   p -= lr_t / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
//   sgdUpdate:      p -= lr_t g
//   momentumUpdate: buf = g at t = 1, else buf = mu buf + g (dampening 0)
//                   p -= lr_t buf, or with Nesterov p -= lr_t (g + mu buf)
//   rmspropUpdate:  v = alpha v + (1 - alpha) g^2;  p -= lr_t g / (sqrt(v) + eps)
//   optimizerStepBegin: t += 1 (once per training step, before the updates)
//   clipGradNormPartial, clipGradNormFinish, clipGradScale: torch.nn.utils.clip_grad_norm_ over
//                   all gradients, before the updates (see "gradient clipping" below)
//
// Layout: param, grad and state tensors are flat arrays of `count` floats; the step counter is one
// u32 (t, starting at 0), kept on the GPU so a training step is a fixed list of dispatches with no
// CPU write. Bias corrections 1 - beta^t are computed per invocation as -expm1(t ln beta), with
// ln beta and 1 - beta from the CPU in float64: f32 `1 - pow(beta2, t)` cancels (0.999^t is within
// 0.001 of 1), and lavapipe's pow made Adam's step size 6e-5 too large at t = 1, the same sign
// for every element, which grew to 1000x PyTorch's float32 error after 3 steps of the reference CNN.
// Reference: Kingma & Ba, "Adam" (2015), Algorithm 1; torch/optim/{adam,sgd,rmsprop}.py.
// One invocation per element; the grid spills into y past 65535 workgroups (linearWorkgroup).
// Overrides: workgroupSize (threads per workgroup; clipGradNormPartial: a power of two <=
// maxWorkgroupSize, for its tree), adamPerInvocation (elements per Adam invocation, grid-strided).

override workgroupSize: u32 = 256u; // invocations per workgroup
override adamPerInvocation: u32 = 2u; // elements each adamUpdate invocation updates
const maxWorkgroupSize: u32 = 256u; // size of clipGradNormPartial's workgroup array

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
  oneMinusBeta1: f32, // Adam: 1 - beta1, rounded once from float64 (as torch passes it)
  oneMinusBeta2: f32, // Adam: 1 - beta2, likewise
  logBeta1: f32, // Adam: ln beta1 from float64 (-100 for beta1 = 0), for 1 - beta1^t
  logBeta2: f32, // Adam: ln beta2, likewise
  decoupledDecay: u32, // Adam: 1 = AdamW (p *= 1 - lr_t weightDecay, g = grad), 0 = L2 in g
  schedule: u32, // learning-rate schedule after warm-up: 0 constant, 1 step, 2 cosine
  warmupSteps: u32, // updates of linear warm-up (0 = none)
  stepSize: u32, // step schedule: updates between two multiplications by gamma
  logGamma: f32, // step schedule: ln gamma from float64 (-100 for gamma = 0)
  cosineSteps: u32, // cosine schedule: T = totalSteps - warmupSteps, updates from lr to minLr
  minLr: f32, // cosine schedule: the rate reached after T updates
}

// The learning rate of update t >= 1 (learningRateAt in optimizer.cpu.ts, the spec): computed
// from t in every invocation, so a schedule needs no buffer and no CPU write per step.
fn learningRate(t: u32, hyper: Params) -> f32 {
  let i = max(t, 1u) - 1u; // updates before this one
  if (i < hyper.warmupSteps) {
    return hyper.lr * f32(i + 1u) / f32(hyper.warmupSteps);
  }
  let j = i - hyper.warmupSteps;
  if (hyper.schedule == 1u) {
    // gamma^k as exp(k ln gamma) with ln gamma from float64 (lavapipe's pow is coarse, see above)
    return hyper.lr * exp(f32(j / hyper.stepSize) * hyper.logGamma);
  }
  if (hyper.schedule == 2u) {
    let progress = f32(min(j, hyper.cosineSteps)) / f32(hyper.cosineSteps);
    return hyper.minLr + (hyper.lr - hyper.minLr) * 0.5 * (1.0 + cos(3.14159265358979 * progress));
  }
  return hyper.lr;
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
// adamUpdate and adamUpdateVec4 share the rule, so the two give the same bits: the scalar entry
// point runs it on splatted vec4s. vec4 loads and stores cut the per-lane memory instructions 4x,
// which is what the update costs on a CPU "GPU" (3.2M parameters in the reference CNN).
struct AdamState {
  param: vec4f,
  m: vec4f,
  v: vec4f,
}

// Bias corrections make m and v unbiased estimates despite their zero start. They are the same
// for every element, so each invocation computes them once for its adamPerInvocation elements
// (pow is the costliest part of the update on a CPU "GPU"): (lr_t / (1 - b1^t), 1 / sqrt(1 - b2^t),
// AdamW's factor 1 - lr_t weightDecay (1 for Adam)).
// (The hyperparameters come in as an argument: each entry point binds its own uniform.)
fn adamCorrections(t: u32, hyper: Params) -> vec3f {
  let tf = f32(t);
  let lr = learningRate(t, hyper);
  let shrink = select(1.0, 1.0 - lr * hyper.weightDecay, hyper.decoupledDecay != 0u);
  return vec3f(lr / oneMinusPow(tf, hyper.logBeta1), 1.0 / sqrt(oneMinusPow(tf, hyper.logBeta2)),
               shrink);
}

// 1 - beta^t = -expm1(x), x = t ln beta <= 0, without cancellation: for x > -1/4 the Taylor series
// -x (1 + x/2 (1 + x/3 (1 + ... (1 + x/8)))) (truncation < 1e-9 relative); below, exp(x) < 0.78
// and 1 - exp(x) loses at most a factor 4.5 to cancellation.
fn oneMinusPow(t: f32, logBeta: f32) -> f32 {
  let x = t * logBeta;
  if (x <= -0.25) {
    return 1.0 - exp(x);
  }
  var series = 1.0;
  for (var k = 8.0; k >= 2.0; k -= 1.0) {
    series = 1.0 + x / k * series;
  }
  return -x * series;
}

fn adamRule(paramIn: vec4f, gradIn: vec4f, mIn: vec4f, vIn: vec4f, corrections: vec3f,
            hyper: Params) -> AdamState {
  // AdamW: p shrinks and g stays the raw gradient; Adam: p stays, g gets the L2 term.
  let decoupled = hyper.decoupledDecay != 0u;
  let p = paramIn * corrections.z;
  let g = gradIn + select(hyper.weightDecay, 0.0, decoupled) * paramIn; // decayedGrad
  let m = hyper.beta1 * mIn + hyper.oneMinusBeta1 * g;
  let v = hyper.beta2 * vIn + hyper.oneMinusBeta2 * g * g;
  let denom = sqrt(v) * corrections.y + hyper.eps;
  return AdamState(p - corrections.x * m / denom, m, v);
}

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
  let corrections = adamCorrections(adamStep[0], adamHyper);
  // Grid-stride: element first + k * invocations, so neighbouring lanes touch neighbours.
  let invocations = nwg.x * nwg.y * workgroupSize;
  for (var k = 0u; k < adamPerInvocation; k++) {
    let i = first + k * invocations;
    if (i >= adamHyper.count) {
      return;
    }
    let next = adamRule(vec4f(adamParam[i]), vec4f(adamGrad[i]), vec4f(adamM[i]), vec4f(adamV[i]),
                        corrections, adamHyper);
    adamM[i] = next.m.x;
    adamV[i] = next.v.x;
    adamParam[i] = next.param.x;
  }
}

@group(0) @binding(0) var<storage, read> adamGrad4: array<vec4f>; // dL/dp as vec4s
@group(0) @binding(1) var<storage, read> adamStep4: array<u32>; // [t], t >= 1
@group(0) @binding(2) var<storage, read_write> adamParam4: array<vec4f>; // p as vec4s
@group(0) @binding(3) var<storage, read_write> adamM4: array<vec4f>; // m as vec4s
@group(0) @binding(4) var<storage, read_write> adamV4: array<vec4f>; // v as vec4s
@group(0) @binding(5) var<uniform> adamHyper4: Params; // count: vec4s, not floats

// adamUpdate on 4 elements per index; the wrapper takes it when count % 4 == 0 and every tensor
// starts on a 16-byte boundary.
@compute @workgroup_size(workgroupSize)
fn adamUpdateVec4(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                  @builtin(local_invocation_index) lid: u32) {
  let first = linearWorkgroup(wid, nwg) * workgroupSize + lid;
  let corrections = adamCorrections(adamStep4[0], adamHyper4);
  let invocations = nwg.x * nwg.y * workgroupSize;
  for (var k = 0u; k < adamPerInvocation; k++) {
    let i = first + k * invocations;
    if (i >= adamHyper4.count) {
      return;
    }
    let next = adamRule(adamParam4[i], adamGrad4[i], adamM4[i], adamV4[i], corrections,
                        adamHyper4);
    adamM4[i] = next.m;
    adamV4[i] = next.v;
    adamParam4[i] = next.param;
  }
}

// ---- SGD
@group(0) @binding(0) var<storage, read> sgdGrad: array<f32>; // dL/dp
@group(0) @binding(1) var<storage, read> sgdStep: array<u32>; // [t], t >= 1 (for lr_t)
@group(0) @binding(2) var<storage, read_write> sgdParam: array<f32>; // p, updated in place
@group(0) @binding(3) var<uniform> sgdHyper: Params;

@compute @workgroup_size(workgroupSize)
fn sgdUpdate(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
             @builtin(local_invocation_index) lid: u32) {
  let i = linearWorkgroup(wid, nwg) * workgroupSize + lid;
  if (i >= sgdHyper.count) {
    return;
  }
  let p = sgdParam[i];
  sgdParam[i] = p - learningRate(sgdStep[0], sgdHyper) * decayedGrad(sgdGrad[i], p, sgdHyper.weightDecay);
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
  momentumParam[i] = p - learningRate(momentumStep[0], momentumHyper) * direction;
}

// ---- RMSprop
@group(0) @binding(0) var<storage, read> rmspropGrad: array<f32>; // dL/dp
@group(0) @binding(1) var<storage, read> rmspropStep: array<u32>; // [t], t >= 1 (for lr_t)
@group(0) @binding(2) var<storage, read_write> rmspropParam: array<f32>; // p, updated in place
@group(0) @binding(3) var<storage, read_write> rmspropV: array<f32>; // mean of g^2 (starts at 0)
@group(0) @binding(4) var<uniform> rmspropHyper: Params;

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
  rmspropParam[i] = p - learningRate(rmspropStep[0], rmspropHyper) * g / (sqrt(v) + rmspropHyper.eps);
}

// ---- gradient clipping (torch.nn.utils.clip_grad_norm_, L2), three deterministic passes:
//   clipGradNormPartial (once per gradient tensor k, one workgroup): clip[k] = sum of its g^2, each
//     lane summing a fixed stride of elements, then a fixed tree over the lanes
//   clipGradNormFinish (one invocation): norm = sqrt(clip[0] + ... + clip[n-1]) in order,
//     coef = min(1, maxNorm / (norm + 1e-6)); clip[n] = norm, clip[n + 1] = coef
//   clipGradScale (once per tensor): g *= clip[n + 1]
// The same gradients give the same bits every run (no atomics, fixed orders).
struct ClipParams {
  count: u32, // clipGradNormPartial, clipGradScale: elements of the gradient; Finish: tensors n
  slot: u32, // clipGradNormPartial: k, where its sum goes; clipGradScale: n + 1, where coef is
  maxNorm: f32, // clipGradNormFinish: torch's max_norm
}

@group(0) @binding(0) var<storage, read> partialGrad: array<f32>; // dL/dp of one tensor
@group(0) @binding(1) var<storage, read_write> partialClip: array<f32>; // [n + 2] sums, norm, coef
@group(0) @binding(2) var<uniform> partialParams: ClipParams;

var<workgroup> laneSums: array<f32, maxWorkgroupSize>; // one partial sum of g^2 per lane

@compute @workgroup_size(workgroupSize)
fn clipGradNormPartial(@builtin(local_invocation_index) lid: u32) {
  var acc = 0.0;
  for (var i = lid; i < partialParams.count; i += workgroupSize) {
    let g = partialGrad[i];
    acc += g * g;
  }
  laneSums[lid] = acc;
  workgroupBarrier();
  // Tree: each step folds the upper half of the live slots onto the lower half.
  for (var stride = workgroupSize / 2u; stride > 0u; stride /= 2u) {
    if (lid < stride) {
      laneSums[lid] += laneSums[lid + stride];
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    partialClip[partialParams.slot] = laneSums[0];
  }
}

@group(0) @binding(0) var<storage, read_write> finishClip: array<f32>; // [n + 2] sums, norm, coef
@group(0) @binding(1) var<uniform> finishParams: ClipParams;

@compute @workgroup_size(1)
fn clipGradNormFinish(@builtin(local_invocation_index) lid: u32) {
  if (lid >= 1u) {
    return;
  }
  let n = finishParams.count;
  var total = 0.0;
  for (var k = 0u; k < n; k++) {
    total += finishClip[k];
  }
  let norm = sqrt(total);
  finishClip[n] = norm;
  finishClip[n + 1u] = min(1.0, finishParams.maxNorm / (norm + 1e-6));
}

@group(0) @binding(0) var<storage, read> scaleClip: array<f32>; // [n + 2] sums, norm, coef
@group(0) @binding(1) var<storage, read_write> scaleGrad: array<f32>; // dL/dp, scaled in place
@group(0) @binding(2) var<uniform> scaleParams: ClipParams;

@compute @workgroup_size(workgroupSize)
fn clipGradScale(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                 @builtin(local_invocation_index) lid: u32) {
  let i = linearWorkgroup(wid, nwg) * workgroupSize + lid;
  if (i >= scaleParams.count) {
    return;
  }
  scaleGrad[i] *= scaleClip[scaleParams.slot];
}
