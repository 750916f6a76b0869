// sample.wgsl: draws the next token of a language model on the GPU, from one row of its logits,
// with a temperature and top-k, given a uniform number u in [0, 1) from the host.
//
//   sampleToken: kept = the k largest logits of row draw.row (ties: the lower index ranks first;
//                k = draw.topK, 0 or >= V keeps all), top = the largest,
//                w[i] = exp((logits[row, i] - top) / temperature) for kept i, else 0,
//                token[0] = the first i (index order) with u * sum(w) < w[0] + ... + w[i]
//                (the last kept i if rounding leaves none); 0xffffffff when the row holds a
//                NaN or sum(w) is not a positive finite number (an infinite logit), for the
//                host to report.
//
// Layout: logits [rows, V] row-major (a causal model's logits for every position of the window;
// the host names the row of the last real position), draw u32 [4] = (row, bits of u, bits of
// temperature, topK) written by the host per token so one built call serves every draw, token
// u32 [1]. The distribution is softmax(logits / temperature) restricted to the top k, so the
// draw is the inverse CDF at u (torch's multinomial over the same probabilities, drawn with the
// host's generator: the CPU twin draws the same token for the same u, barring a u within
// rounding of a boundary).
// One workgroup. Each invocation takes a strided slice for the max and for the k-th largest
// (the ranks: how many logits beat i, O(V^2 / workgroupSize), only when k < V), then a
// contiguous chunk of ceil(V / workgroupSize) for the weights' partial sums; invocation 0 adds
// the partials in order, finds u's chunk and walks it. Fixed orders throughout: deterministic.
// Overrides: workgroupSize (<= maxWorkgroupSize).

const maxWorkgroupSize: u32 = 64u;
override workgroupSize: u32 = 64u; // invocations of the single workgroup

struct Params {
  rows: u32, // rows of logits (positions of the window)
  V: u32, // vocabulary: columns of logits
}

@group(0) @binding(0) var<storage, read> logits: array<f32>; // [rows, V]
@group(0) @binding(1) var<storage, read> draw: array<u32>; // [4] row, u (f32 bits), temperature (f32 bits), topK
@group(0) @binding(2) var<storage, read_write> token: array<u32>; // [1] the drawn id
@group(0) @binding(3) var<uniform> params: Params;

var<workgroup> partialMax: array<f32, maxWorkgroupSize>; // per invocation: the max of its slice
var<workgroup> partialNaN: array<u32, maxWorkgroupSize>; // per invocation: 1 if its slice holds a NaN
var<workgroup> partialSum: array<f32, maxWorkgroupSize>; // per invocation: its chunk's weights
// The k-th largest logit and its index: id i is kept when its logit is greater, or equal at an
// index <= cutIndex. Arrays of one because wgsl_reflect's race detector tracks only array
// elements; the test written out where used because it would share a helper's arguments between
// the invocations it runs in lockstep.
var<workgroup> cutValue: array<f32, 1>;
var<workgroup> cutIndex: array<u32, 1>;

@compute @workgroup_size(workgroupSize)
fn sampleToken(@builtin(local_invocation_index) lid: u32) {
  let V = params.V;
  // The host checks row < rows; clamping keeps a bad row inside the buffer anyway.
  let base = min(draw[0], params.rows - 1u) * V;
  let u = bitcast<f32>(draw[1]);
  let temperature = bitcast<f32>(draw[2]);
  let k = draw[3];
  let all = k == 0u || k >= V;
  var localMax = logits[base];
  var sawNaN = 0u;
  for (var i = lid; i < V; i += workgroupSize) {
    let value = logits[base + i];
    localMax = max(localMax, value);
    // By its bits: a compiler may assume no NaN and fold value != value to false.
    sawNaN |= select(0u, 1u, (bitcast<u32>(value) & 0x7fffffffu) > 0x7f800000u);
  }
  partialMax[lid] = localMax;
  partialNaN[lid] = sawNaN;
  workgroupBarrier();
  var anyNaN = 0u;
  for (var l = 0u; l < workgroupSize; l++) {
    anyNaN |= partialNaN[l];
  }
  // Top k: exactly one i has k - 1 logits ranked above it (greater, or equal at a lower index);
  // with a NaN the ranks are no order, so the draw is refused instead.
  if (!all && anyNaN == 0u) {
    for (var i = lid; i < V; i += workgroupSize) {
      let value = logits[base + i];
      var above = 0u;
      for (var j = 0u; j < V; j++) {
        let other = logits[base + j];
        if (other > value || (other == value && j < i)) {
          above += 1u;
        }
      }
      if (above == k - 1u) {
        cutValue[0] = value;
        cutIndex[0] = i;
      }
    }
  }
  workgroupBarrier();
  var top = partialMax[0];
  for (var l = 1u; l < workgroupSize; l++) {
    top = max(top, partialMax[l]);
  }
  // Read only when !all (the loop above set them then).
  let cut = select(cutValue[0], 0.0, all);
  let cutAt = select(cutIndex[0], 0u, all);
  let chunk = (V + workgroupSize - 1u) / workgroupSize;
  var sum = 0.0;
  for (var i = lid * chunk; i < min(V, (lid + 1u) * chunk); i++) {
    let value = logits[base + i];
    if (all || value > cut || (value == cut && i <= cutAt)) {
      sum += exp((value - top) / temperature);
    }
  }
  partialSum[lid] = sum;
  workgroupBarrier();
  if (lid != 0u) {
    return;
  }
  var total = 0.0;
  for (var l = 0u; l < workgroupSize; l++) {
    total += partialSum[l];
  }
  // NaN fails both comparisons, +inf the second.
  if (anyNaN != 0u || !(total > 0.0 && total <= 3.4e38)) {
    token[0] = 0xffffffffu;
    return;
  }
  let goal = u * total;
  var chosen = V; // V: none yet
  var before = 0.0; // the weights of the chunks before chunk l
  for (var l = 0u; l < workgroupSize; l++) {
    if (goal < before + partialSum[l]) {
      // u falls in chunk l: walk it, weight by weight.
      var running = before;
      for (var i = l * chunk; i < min(V, (l + 1u) * chunk); i++) {
        let value = logits[base + i];
        if (all || value > cut || (value == cut && i <= cutAt)) {
          running += exp((value - top) / temperature);
          if (goal < running) {
            chosen = i;
            break;
          }
        }
      }
      break;
    }
    before += partialSum[l];
  }
  // Rounding (the partials' order against the walk's) can leave the target past the last
  // weight: then the last kept id.
  for (var i = V; i > 0u && chosen == V; i--) {
    let value = logits[base + i - 1u];
    if (all || value > cut || (value == cut && i - 1u <= cutAt)) {
      chosen = i - 1u;
    }
  }
  token[0] = chosen;
}
