// Exercise 7, reference solution: one invocation per row, three passes over it (maximum, sum of
// exponentials, then loss and gradient), the maximum subtracted so exp never overflows.

struct Params {
  N: u32, // rows (batch)
  K: u32, // classes
}

@group(0) @binding(0) var<storage, read> logits: array<f32>; // [N, K]
@group(0) @binding(1) var<storage, read> labels: array<i32>; // [N], each in [0, K)
@group(0) @binding(2) var<storage, read_write> dLogits: array<f32>; // [N, K]
@group(0) @binding(3) var<storage, read_write> loss: array<f32>; // [N]
@group(0) @binding(4) var<uniform> params: Params;

@compute @workgroup_size(64)
fn softmaxCrossEntropy(@builtin(global_invocation_id) gid: vec3u) {
  let n = gid.x;
  if (n >= params.N) {
    return;
  }
  let base = n * params.K;
  var largest = logits[base];
  for (var k = 1u; k < params.K; k++) {
    largest = max(largest, logits[base + k]);
  }
  var sumExp = 0.0;
  for (var k = 0u; k < params.K; k++) {
    sumExp += exp(logits[base + k] - largest);
  }
  let label = u32(labels[n]);
  loss[n] = largest + log(sumExp) - logits[base + label];
  let perRow = 1.0 / f32(params.N); // the batch mean's share
  for (var k = 0u; k < params.K; k++) {
    let probability = exp(logits[base + k] - largest) / sumExp;
    dLogits[base + k] = (probability - select(0.0, 1.0, k == label)) * perRow;
  }
}
