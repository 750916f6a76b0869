// common.wgsl: helpers shared by every kernel family; the kernel wrappers prepend this file to
// each family's source (the only string composition allowed, STYLE 2.2.3).

// Names of parameters and locals here are deliberately unlike any binding name: wgsl_reflect
// resolves identifiers by name, so a binding called `y` would look "used" wherever a helper has
// a parameter `y`, and the reflected bind-group layout would gain a binding.

// Activation codes, the same numbers as `activationCode` in src/kernels/common.cpu.ts.
const ACT_NONE: u32 = 0u;
const ACT_RELU: u32 = 1u;
const ACT_SIGMOID: u32 = 2u;
const ACT_TANH: u32 = 3u;

// Linear workgroup index of a grid that spills into y past 65535 workgroups (grid1d in TS).
fn linearWorkgroup(groupId: vec3u, groupCount: vec3u) -> u32 {
  return groupId.x + groupId.y * groupCount.x;
}

// Logistic sigmoid without overflow: exp only ever sees a non-positive argument.
fn stableSigmoid(sigIn: f32) -> f32 {
  if (sigIn >= 0.0) {
    return 1.0 / (1.0 + exp(-sigIn));
  }
  let expIn = exp(sigIn);
  return expIn / (1.0 + expIn);
}

// tanh without inf/inf: |x| > 15 is +-1 in float32 already.
fn stableTanh(tanhIn: f32) -> f32 {
  let clamped = clamp(tanhIn, -15.0, 15.0);
  let exp2In = exp(2.0 * clamped);
  return (exp2In - 1.0) / (exp2In + 1.0);
}

fn activate(preAct: f32, actKind: u32) -> f32 {
  switch actKind {
    case ACT_RELU: { return max(preAct, 0.0); }
    case ACT_SIGMOID: { return stableSigmoid(preAct); }
    case ACT_TANH: { return stableTanh(preAct); }
    default: { return preAct; }
  }
}

// dL/dx from the activation's output y and dL/dy:
// relu' = [y > 0], sigmoid' = y(1 - y), tanh' = 1 - y^2.
fn activationGrad(postAct: f32, dPostAct: f32, actKind: u32) -> f32 {
  switch actKind {
    case ACT_RELU: { return select(0.0, dPostAct, postAct > 0.0); }
    case ACT_SIGMOID: { return dPostAct * postAct * (1.0 - postAct); }
    case ACT_TANH: { return dPostAct * (1.0 - postAct * postAct); }
    default: { return dPostAct; }
  }
}

// Pooling (maxPool, avgPool): both bind this as their Params (poolParamsFields in geometry.ts).
struct PoolParams {
  N: u32, // batch size
  C: u32, // channels
  H: u32, // input height
  W: u32, // input width
  KH: u32, // window height
  KW: u32, // window width
  strideH: u32, // rows between window starts
  strideW: u32, // columns between window starts
  OH: u32, // output height, floor((H - KH) / strideH) + 1
  OW: u32, // output width, floor((W - KW) / strideW) + 1
}

// Pooling's pairs entry points (maxPool, avgPool: 2x2 windows of stride 2 over an even W, input
// rows as vec2 pairs): output row `row` = (n*C + c)*OH + oh reads input rows 2 oh and 2 oh + 1;
// the pair index of row 2 oh's first pair (row 2 oh + 1 starts W / 2 pairs later).
fn pairsUpperRow(p: PoolParams, row: u32) -> u32 {
  return ((row / p.OH) * p.H + 2u * (row % p.OH)) * (p.W / 2u);
}

// The pairs [first, end) of the input row no window covers (the last one, with an odd H), which
// the backward of its plane's last output row zeroes; empty for every other output row.
fn uncoveredPairs(p: PoolParams, row: u32) -> vec2u {
  if (row % p.OH + 1u != p.OH || p.H % 2u == 0u) {
    return vec2u(0u, 0u);
  }
  let first = ((row / p.OH) * p.H + p.H - 1u) * (p.W / 2u);
  return vec2u(first, first + p.W / 2u);
}

// Pooling: the half-open range [first, end) of the windows along one axis
// that cover input position winPos: window o covers it when o*winStep <= winPos < o*winStep +
// winSize, clipped to the winCount windows.
fn coveringWindows(winPos: u32, winSize: u32, winStep: u32, winCount: u32) -> vec2u {
  // first = ceil((winPos - winSize + 1) / winStep), or 0 when winPos < winSize
  let first = select(0u, (winPos + winStep - winSize) / winStep, winPos + 1u > winSize);
  let end = min(winPos / winStep + 1u, winCount);
  return vec2u(first, max(first, end));
}

// Subgroup-tiled products (matmulSubgroup, conv2dImplicit): acc[4g + i] += tile * (row 4g + i of
// op(A)) for the 4 rows of group g, the rows given as the columns of groupRows.
fn accumulateGroup(accRows: ptr<function, array<vec4f, 32>>, groupIndex: u32, groupRows: mat4x4f,
                   tile: mat4x4f) {
  // Written out, not looped: SwiftShader does not unroll loops (matmul.wgsl's ROWS WRITTEN OUT).
  (*accRows)[4u * groupIndex] += tile * groupRows[0];
  (*accRows)[4u * groupIndex + 1u] += tile * groupRows[1];
  (*accRows)[4u * groupIndex + 2u] += tile * groupRows[2];
  (*accRows)[4u * groupIndex + 3u] += tile * groupRows[3];
}
