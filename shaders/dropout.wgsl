// dropout.wgsl: inverted dropout (PyTorch nn.Dropout in training mode) with a counter-based mask.
//
//   dropoutForward:  y[i]  = keep(i) ? x[i]  * scale : 0      for i < count
//   dropoutBackward: dX[i] = keep(i) ? dY[i] * scale : 0      (the same mask, recomputed)
//
// keep(i) = bits(i) >= threshold, with bits(i) a 32-bit hash of (seed, step, layer, i) and
// threshold = floor(p * 2^32), so P(drop) = p; scale = f32(1 / (1 - p)). The hash is lowbias32
// (Chris Wellons, "Prospecting for hash functions", 2018), chained over the words:
//   stream = h(h(h(seed) ^ step) ^ layer);  bits(i) = h(stream ^ h(i))
// No mask is stored: the mask is a pure function of the element index, the layer and the step
// counter (the optimizer's u32, read from the GPU so the step's dispatches never change), so the
// backward recomputes it. A dropped element is a hard 0 (select, not x * 0, so inf stays out).
// Any layout: flat arrays of `count` floats, one invocation per element; the grid spills into y
// past 65535 workgroups (linearWorkgroup in common.wgsl).
// Overrides: workgroupSize (threads per workgroup).

override workgroupSize: u32 = 256u; // invocations per workgroup

struct Params {
  count: u32, // number of elements
  threshold: u32, // floor(p * 2^32): an element is dropped when its bits are below this
  scale: f32, // 1 / (1 - p), rounded to f32
  seed: u32, // the layer's random seed
  layer: u32, // the layer's id, so two layers at one step draw different masks
}

// lowbias32: a bijective 32-bit integer hash with good avalanche (xor-shift-multiply rounds).
fn lowbias32(hashIn: u32) -> u32 {
  var h = hashIn;
  h ^= h >> 16u;
  h *= 0x7feb352du;
  h ^= h >> 15u;
  h *= 0x846ca68bu;
  h ^= h >> 16u;
  return h;
}

// True when element `elem` survives; the CPU twin (dropoutKeepCpu) is the same arithmetic.
fn dropoutKeep(seedWord: u32, stepWord: u32, layerWord: u32, elem: u32, cutoff: u32) -> bool {
  let stream = lowbias32(lowbias32(lowbias32(seedWord) ^ stepWord) ^ layerWord);
  return lowbias32(stream ^ lowbias32(elem)) >= cutoff;
}

// ---- forward
@group(0) @binding(0) var<storage, read> x: array<f32>; // input
@group(0) @binding(1) var<storage, read> stepCount: array<u32>; // [t]: optimizer steps completed
@group(0) @binding(2) var<storage, read_write> y: array<f32>; // output x * mask / (1 - p)
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(workgroupSize)
fn dropoutForward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                  @builtin(local_invocation_index) lid: u32) {
  let i = linearWorkgroup(wid, nwg) * workgroupSize + lid;
  if (i >= params.count) {
    return;
  }
  let keep = dropoutKeep(params.seed, stepCount[0], params.layer, i, params.threshold);
  y[i] = select(0.0, x[i] * params.scale, keep);
}

// ---- backward
@group(0) @binding(0) var<storage, read> dY: array<f32>; // dL/dy
@group(0) @binding(1) var<storage, read> backwardStep: array<u32>; // [t], as in the forward
@group(0) @binding(2) var<storage, read_write> dX: array<f32>; // dL/dx = dY * mask / (1 - p)
@group(0) @binding(3) var<uniform> backwardParams: Params;

@compute @workgroup_size(workgroupSize)
fn dropoutBackward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                   @builtin(local_invocation_index) lid: u32) {
  let i = linearWorkgroup(wid, nwg) * workgroupSize + lid;
  if (i >= backwardParams.count) {
    return;
  }
  let keep = dropoutKeep(backwardParams.seed, backwardStep[0], backwardParams.layer, i,
                         backwardParams.threshold);
  dX[i] = select(0.0, dY[i] * backwardParams.scale, keep);
}
