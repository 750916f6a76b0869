// embedding.wgsl: token embeddings (torch.nn.Embedding) with a deterministic backward, and the
// broadcast add of a learned position table.
//
//   embeddingForward:   out[n, c] = table[tokens[n], c]      (0 for a token >= V)
//   embeddingBackward:  dTable[v, c] = sum over n with tokens[n] == v of dOut[n, c], n in order
//   positionAddForward: out[b, p] = x[b, p] + pos[p]         (p = t·C + c: pos is [T, C])
//
// Layout: tokens u32 [N] (N = batch·T positions), table and dTable [V, C], out and dOut [N, C]
// row-major; x and out of the position add [B, P], pos [P]. The position table's gradient
// dPos[p] = sum_b dOut[b, p] is bias.wgsl's biasBackward with N = B, C = P, S = 1.
// The backward is a gather, not a scatter: one invocation per (v, c) scans all N tokens in order
// and adds the rows that hold v. No float atomics, so every run gives the same bits (a scatter
// with atomicAdd would sum in whatever order the lanes arrive). It costs V·C·N steps: for a
// character vocabulary (V ~ 65-256) and a step's N ~ 8k positions, a few hundred million cheap
// iterations whose token loads every c-lane of a v shares. A token vocabulary of 50k would want
// the positions sorted by token first.
// A token >= V cannot raise an error on the GPU: the forward writes zeros and the backward never
// matches it; callers check tokens on the CPU before uploading.
// Grids spill into y past 65535 workgroups (linearWorkgroup).
// Overrides: workgroupSize.

override workgroupSize: u32 = 64u; // invocations per workgroup

struct Params {
  N: u32, // positions (rows of out): batch·T
  V: u32, // vocabulary size (rows of the table)
  C: u32, // embedding width
}

struct AddParams {
  B: u32, // batch
  P: u32, // elements per sample, T·C
}

// ---- forward
@group(0) @binding(0) var<storage, read> tokens: array<u32>; // [N]
@group(0) @binding(1) var<storage, read> table: array<f32>; // [V, C]
@group(0) @binding(2) var<storage, read_write> out: array<f32>; // [N, C]
@group(0) @binding(3) var<uniform> params: Params;

@compute @workgroup_size(workgroupSize)
fn embeddingForward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                    @builtin(local_invocation_index) lid: u32) {
  let i = linearWorkgroup(wid, nwg) * workgroupSize + lid;
  if (i >= params.N * params.C) {
    return;
  }
  let token = tokens[i / params.C];
  out[i] = select(0.0, table[token * params.C + i % params.C], token < params.V);
}

// ---- backward
@group(0) @binding(0) var<storage, read> tokenIds: array<u32>; // [N]
@group(0) @binding(1) var<storage, read> dOut: array<f32>; // [N, C]
@group(0) @binding(2) var<storage, read_write> dTable: array<f32>; // [V, C]
@group(0) @binding(3) var<uniform> backwardParams: Params;

@compute @workgroup_size(workgroupSize)
fn embeddingBackward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                     @builtin(local_invocation_index) lid: u32) {
  let i = linearWorkgroup(wid, nwg) * workgroupSize + lid;
  if (i >= backwardParams.V * backwardParams.C) {
    return;
  }
  let v = i / backwardParams.C;
  let c = i % backwardParams.C;
  var total = 0.0;
  for (var n = 0u; n < backwardParams.N; n++) {
    if (tokenIds[n] == v) {
      total += dOut[n * backwardParams.C + c];
    }
  }
  dTable[i] = total;
}

// ---- position table
@group(0) @binding(0) var<storage, read> x: array<f32>; // [B, P]
@group(0) @binding(1) var<storage, read> pos: array<f32>; // [P]
@group(0) @binding(2) var<storage, read_write> shifted: array<f32>; // [B, P] = x + pos
@group(0) @binding(3) var<uniform> addParams: AddParams;

@compute @workgroup_size(workgroupSize)
fn positionAddForward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                      @builtin(local_invocation_index) lid: u32) {
  let i = linearWorkgroup(wid, nwg) * workgroupSize + lid;
  if (i >= addParams.B * addParams.P) {
    return;
  }
  shifted[i] = x[i] + pos[i % addParams.P];
}
