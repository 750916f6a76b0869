// softmaxCrossEntropy.wgsl: softmax + cross-entropy on logits, PyTorch F.cross_entropy semantics.
//
//   softmaxCrossEntropyForward:  loss[n] = logsumexp(logits[n, :]) - logits[n, labels[n]]
//   softmaxCrossEntropyBackward: dLogits[n, k] = (softmax(logits[n, :])_k - [k == labels[n]]) * gradScale
//   softmaxCrossEntropyForwardBackward: both in one pass over the logits (the training step)
//
// Layout: logits and dLogits [N, K] row-major, labels i32 [N], loss [N]. gradScale = scale / N,
// since the loss is the batch mean (reduce.wgsl's lossMean): d(mean)/d(loss[n]) = 1/N.
// With ignoring = 1 (torch's ignore_index), a row whose label is ignoreIndex gets loss 0 and a
// zero gradient row, and the mean is over the M rows not ignored: gradients scale by
// gradScale * N / M. Each workgroup counts M itself, its invocations over strided slices of the
// labels, then a sum of their partial counts in workgroup memory (one barrier, integer sums:
// exact): N / workgroupSize reads per invocation. No row kept (M = 0): every gradient is 0, as
// in torch (whose mean is then 0/0 = NaN).
// Stable: m = max_k logits[n, k], logsumexp = m + log(sum_k exp(logits[n, k] - m)), so exp never
// sees a positive argument and logits of +-1e4 stay finite (the log-sum-exp trick; see
// Goodfellow et al., Deep Learning, sec. 4.1). A label outside [0, K) writes NaN into loss[n]
// and the whole dLogits row, so a bad label cannot go unnoticed.
// One invocation per sample (row): K is the number of classes, small next to the batch work.
// Overrides: workgroupSize (invocations per workgroup).

// Largest workgroupSize: the partial counts' workgroup array has a fixed length.
const maxWorkgroupSize: u32 = 256u;
override workgroupSize: u32 = 64u; // invocations (rows) per workgroup

struct Params {
  N: u32, // batch size (rows)
  K: u32, // classes (columns)
  gradScale: f32, // scale / N: the caller's scale times d(mean loss)/d(loss[n]); unused by forward
  ignoreIndex: i32, // with ignoring = 1: the label of rows left out (torch's ignore_index)
  ignoring: u32, // 1: rows labelled ignoreIndex are left out of the loss and its mean
}

// Shared by all three entry points, at the same bindings.
@group(0) @binding(0) var<storage, read> logits: array<f32>; // [N, K]
@group(0) @binding(1) var<storage, read> labels: array<i32>; // [N], class index per sample

// A quiet NaN built at run time (WGSL const-evaluation refuses NaN); the payload is arbitrary.
fn runtimeNan(payload: u32) -> f32 {
  return bitcast<f32>(0x7fc00000u | (payload & 0xffffu));
}

fn labelIsValid(label: i32, classes: u32) -> bool {
  return label >= 0 && u32(label) < classes;
}

fn isIgnored(label: i32, p: Params) -> bool {
  return p.ignoring != 0u && label == p.ignoreIndex;
}

var<workgroup> partialKept: array<u32, maxWorkgroupSize>; // per invocation: its slice's kept rows

// gradScale for the rows kept: scale / M with M the rows whose label is not ignored; without
// ignoring, scale / N as given. Every invocation of the workgroup must call it (it holds a
// barrier), before any returns: p comes from a uniform, so the branch on p.ignoring is uniform.
fn keptGradScale(p: Params, lid: u32) -> f32 {
  if (p.ignoring == 0u) {
    return p.gradScale;
  }
  var kept = 0u;
  for (var n = lid; n < p.N; n += workgroupSize) {
    kept += select(1u, 0u, labels[n] == p.ignoreIndex);
  }
  partialKept[lid] = kept;
  workgroupBarrier();
  var total = 0u;
  for (var l = 0u; l < workgroupSize; l++) {
    total += partialKept[l];
  }
  // gradScale * N / M: M = 0 leaves no row to scale (all ignored).
  return p.gradScale * f32(p.N) / f32(max(total, 1u));
}

// The row's max and sum_k exp(logit - max): the stable pieces of logsumexp and softmax.
fn rowStats(base: u32, classes: u32) -> vec2f {
  var rowMax = logits[base];
  for (var k = 1u; k < classes; k++) {
    rowMax = max(rowMax, logits[base + k]);
  }
  var sumExp = 0.0;
  for (var k = 0u; k < classes; k++) {
    sumExp += exp(logits[base + k] - rowMax);
  }
  return vec2f(rowMax, sumExp);
}

// loss = logsumexp - logit[label] = (max - logit[label]) + log(sumExp); the difference comes first
// so two logits near 1e4 do not cancel after log(sumExp) was rounded onto them.
fn rowLoss(base: u32, classes: u32, label: i32, stats: vec2f) -> f32 {
  if (!labelIsValid(label, classes)) {
    return runtimeNan(bitcast<u32>(label));
  }
  return (stats.x - logits[base + u32(label)]) + log(stats.y);
}

// dLogits[k] = (p_k - [k == label]) * gradScale with p_k = exp(logit_k - max) / sumExp.
fn writeRowGrad(base: u32, classes: u32, label: i32, stats: vec2f, gradScale: f32) {
  let valid = labelIsValid(label, classes);
  let nanValue = runtimeNan(bitcast<u32>(label));
  for (var k = 0u; k < classes; k++) {
    let p = exp(logits[base + k] - stats.x) / stats.y;
    let onehot = select(0.0, 1.0, i32(k) == label);
    dLogits[base + k] = select(nanValue, (p - onehot) * gradScale, valid);
  }
}

fn writeZeroRow(base: u32, classes: u32) {
  for (var k = 0u; k < classes; k++) {
    dLogits[base + k] = 0.0;
  }
}

// ---- forward
@group(0) @binding(2) var<storage, read_write> loss: array<f32>; // [N]
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(workgroupSize)
fn softmaxCrossEntropyForward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                              @builtin(local_invocation_index) lid: u32) {
  let n = linearWorkgroup(wid, nwg) * workgroupSize + lid;
  if (n >= params.N) {
    return;
  }
  let base = n * params.K;
  if (isIgnored(labels[n], params)) {
    loss[n] = 0.0;
    return;
  }
  loss[n] = rowLoss(base, params.K, labels[n], rowStats(base, params.K));
}

// ---- backward (dLogits is shared with the fused entry point, at the same binding)
@group(0) @binding(2) var<storage, read_write> dLogits: array<f32>; // [N, K]
@group(0) @binding(3) var<uniform> backwardParams: Params;

@compute @workgroup_size(workgroupSize)
fn softmaxCrossEntropyBackward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                               @builtin(local_invocation_index) lid: u32) {
  let gradScale = keptGradScale(backwardParams, lid);
  let n = linearWorkgroup(wid, nwg) * workgroupSize + lid;
  if (n >= backwardParams.N) {
    return;
  }
  let base = n * backwardParams.K;
  if (isIgnored(labels[n], backwardParams)) {
    writeZeroRow(base, backwardParams.K);
    return;
  }
  let stats = rowStats(base, backwardParams.K);
  writeRowGrad(base, backwardParams.K, labels[n], stats, gradScale);
}

// ---- fused forward + backward: one read of the row's statistics serves both outputs
@group(0) @binding(3) var<storage, read_write> fusedLoss: array<f32>; // [N]
@group(0) @binding(4) var<uniform> fusedParams: Params;

@compute @workgroup_size(workgroupSize)
fn softmaxCrossEntropyForwardBackward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                                      @builtin(local_invocation_index) lid: u32) {
  let gradScale = keptGradScale(fusedParams, lid);
  let n = linearWorkgroup(wid, nwg) * workgroupSize + lid;
  if (n >= fusedParams.N) {
    return;
  }
  let base = n * fusedParams.K;
  let label = labels[n];
  if (isIgnored(label, fusedParams)) {
    fusedLoss[n] = 0.0;
    writeZeroRow(base, fusedParams.K);
    return;
  }
  let stats = rowStats(base, fusedParams.K);
  fusedLoss[n] = rowLoss(base, fusedParams.K, label, stats);
  writeRowGrad(base, fusedParams.K, label, stats, gradScale);
}
