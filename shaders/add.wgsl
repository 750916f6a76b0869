// add.wgsl: the sum of a skip connection, and the copies and sums its gradient needs.
//
//   addForward:    out[n,c,s] = f(a[n,c,s] + b[...])   broadcast 0: b is [N, C, S] like a;
//                                                      broadcast 1: b is [N, C], one value per
//                                                      (sample, channel), broadcast over S
//   addBackward:   dA = dOut; dB = dOut                 (one pass writing both copies)
//   addCopy:       target = source
//   addAccumulate: target += source                     (a node's gradient parts, summed by the
//                                                        executor one dispatch at a time, in order)
//   addSpatialSum: dB[n,c] = sum_s dOut[n,c,s]          (the gradient of a broadcast b)
//
// Layout [N, C, S] row-major, S = H*W (1 for dense tensors). Elementwise entry points: RUN (4)
// consecutive elements per invocation (on lavapipe, where an invocation is a SIMD lane, the
// per-invocation cost dominates an add: 4 per invocation ran addAccumulate 2x faster at 131,072
// elements, 2026-12-04); addSpatialSum: one invocation per (n, c), summing its S values in
// order (S is at most a few thousand: 28*28), so the result is deterministic without atomics.
// The grid spills into y past 65535 workgroups (linearWorkgroup).
// The *Quads entry points (count % 4 == 0) move each run as one vec4 per tensor.
// Overrides: workgroupSize, activation (addForward).

override workgroupSize: u32 = 64u; // invocations per workgroup
const RUN: u32 = 4u; // elementwise entry points: consecutive elements per invocation

// The first element of this invocation's run.
fn runStart(wid: vec3u, nwg: vec3u, lid: u32) -> u32 {
  return (linearWorkgroup(wid, nwg) * workgroupSize + lid) * RUN;
}
override activation: u32 = ACT_NONE; // addForward: f after the sum (ACT_NONE, ACT_RELU, ACT_SIGMOID, ACT_TANH)

struct Params {
  count: u32, // elements of a (and out): N*C*S
  S: u32, // spatial size per channel
  broadcast: u32, // 0: b like a; 1: b is [N, C], broadcast over S
}

struct CopyParams {
  count: u32, // elements to copy or add
}

struct SumParams {
  rows: u32, // N*C: one sum each
  S: u32, // terms per sum
}

// ---- forward
@group(0) @binding(0) var<storage, read> a: array<f32>; // [N, C, S]
@group(0) @binding(1) var<storage, read> b: array<f32>; // [N, C, S] or [N, C]
@group(0) @binding(2) var<storage, read_write> out: array<f32>; // [N, C, S]
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(workgroupSize)
fn addForward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
              @builtin(local_invocation_index) lid: u32) {
  let first = runStart(wid, nwg, lid);
  for (var i = first; i < min(first + RUN, params.count); i++) {
    var j = i;
    if (params.broadcast == 1u) {
      j = i / params.S; // (n, c) of element i
    }
    out[i] = activate(a[i] + b[j], activation);
  }
}

// ---- backward: both copies
@group(0) @binding(0) var<storage, read> dOut: array<f32>; // [count]
@group(0) @binding(1) var<storage, read_write> dA: array<f32>; // [count]
@group(0) @binding(2) var<storage, read_write> dB: array<f32>; // [count]
@group(0) @binding(3) var<uniform> backwardParams: CopyParams;

@compute @workgroup_size(workgroupSize)
fn addBackward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
               @builtin(local_invocation_index) lid: u32) {
  let first = runStart(wid, nwg, lid);
  for (var i = first; i < min(first + RUN, backwardParams.count); i++) {
    let g = dOut[i];
    dA[i] = g;
    dB[i] = g;
  }
}

// ---- copy
@group(0) @binding(0) var<storage, read> copySource: array<f32>; // [count]
@group(0) @binding(1) var<storage, read_write> copyTarget: array<f32>; // [count]
@group(0) @binding(2) var<uniform> copyParams: CopyParams;

@compute @workgroup_size(workgroupSize)
fn addCopy(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
           @builtin(local_invocation_index) lid: u32) {
  let first = runStart(wid, nwg, lid);
  for (var i = first; i < min(first + RUN, copyParams.count); i++) {
    copyTarget[i] = copySource[i];
  }
}

// ---- accumulate
@group(0) @binding(0) var<storage, read> accSource: array<f32>; // [count]
@group(0) @binding(1) var<storage, read_write> accTarget: array<f32>; // [count], += source
@group(0) @binding(2) var<uniform> accParams: CopyParams;

@compute @workgroup_size(workgroupSize)
fn addAccumulate(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                 @builtin(local_invocation_index) lid: u32) {
  let first = runStart(wid, nwg, lid);
  for (var i = first; i < min(first + RUN, accParams.count); i++) {
    accTarget[i] = accTarget[i] + accSource[i];
  }
}

// ---- the same, a vec4 per tensor and invocation (count % 4 == 0; addForward: broadcast 0)
// The elementwise entry points above with their run of 4 as one vec4 load or store per tensor: a
// quarter of the accesses, each of which lavapipe splits into per-lane scalar accesses with bounds
// checks. The same arithmetic per element, so the same bits.
@group(0) @binding(0) var<storage, read> aQuads: array<vec4f>; // [N, C, S] as vec4s
@group(0) @binding(1) var<storage, read> bQuads: array<vec4f>; // [N, C, S] as vec4s
@group(0) @binding(2) var<storage, read_write> outQuads: array<vec4f>; // [N, C, S] as vec4s

// The vec4 this invocation owns (the grid's spare invocations get one past count / 4).
fn quadIndex(wid: vec3u, nwg: vec3u, lid: u32) -> u32 {
  return linearWorkgroup(wid, nwg) * workgroupSize + lid;
}

@compute @workgroup_size(workgroupSize)
fn addForwardQuads(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                   @builtin(local_invocation_index) lid: u32) {
  let q = quadIndex(wid, nwg, lid);
  if (q < params.count / 4u) {
    let sum = aQuads[q] + bQuads[q];
    outQuads[q] = vec4f(activate(sum.x, activation), activate(sum.y, activation),
                        activate(sum.z, activation), activate(sum.w, activation));
  }
}

@group(0) @binding(0) var<storage, read> dOutQuads: array<vec4f>; // [count / 4]
@group(0) @binding(1) var<storage, read_write> dAQuads: array<vec4f>; // [count / 4]
@group(0) @binding(2) var<storage, read_write> dBQuads: array<vec4f>; // [count / 4]

@compute @workgroup_size(workgroupSize)
fn addBackwardQuads(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                    @builtin(local_invocation_index) lid: u32) {
  let q = quadIndex(wid, nwg, lid);
  if (q < backwardParams.count / 4u) {
    let g = dOutQuads[q];
    dAQuads[q] = g;
    dBQuads[q] = g;
  }
}

@group(0) @binding(0) var<storage, read> copySourceQuads: array<vec4f>; // [count / 4]
@group(0) @binding(1) var<storage, read_write> copyTargetQuads: array<vec4f>; // [count / 4]

@compute @workgroup_size(workgroupSize)
fn addCopyQuads(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                @builtin(local_invocation_index) lid: u32) {
  let q = quadIndex(wid, nwg, lid);
  if (q < copyParams.count / 4u) {
    copyTargetQuads[q] = copySourceQuads[q];
  }
}

@group(0) @binding(0) var<storage, read> accSourceQuads: array<vec4f>; // [count / 4]
@group(0) @binding(1) var<storage, read_write> accTargetQuads: array<vec4f>; // [count / 4]

@compute @workgroup_size(workgroupSize)
fn addAccumulateQuads(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                      @builtin(local_invocation_index) lid: u32) {
  let q = quadIndex(wid, nwg, lid);
  if (q < accParams.count / 4u) {
    accTargetQuads[q] = accTargetQuads[q] + accSourceQuads[q];
  }
}

// ---- the gradient of a broadcast b
@group(0) @binding(0) var<storage, read> sumIn: array<f32>; // [N, C, S]
@group(0) @binding(1) var<storage, read_write> sumOut: array<f32>; // [N, C]
@group(0) @binding(2) var<uniform> sumParams: SumParams;

@compute @workgroup_size(workgroupSize)
fn addSpatialSum(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                 @builtin(local_invocation_index) lid: u32) {
  let row = linearWorkgroup(wid, nwg) * workgroupSize + lid;
  if (row >= sumParams.rows) {
    return;
  }
  var acc = 0.0;
  let start = row * sumParams.S;
  for (var s = 0u; s < sumParams.S; s++) {
    acc += sumIn[start + s];
  }
  sumOut[row] = acc;
}
