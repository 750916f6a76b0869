// embedding.wgsl: token embeddings (torch.nn.Embedding) with a deterministic backward, and the
// broadcast add of a learned position table.
//
//   embeddingForward:   out[n, c] = table[tokens[n], c]      (NaN for a token >= V)
//   embeddingBackward:  dTable[v, c] = sum over n with tokens[n] == v of dOut[n, c], n in order
//   positionAddForward: out[b, p] = x[b, p] + pos[p]         (p = t·C + c: pos is [T, C])
//
// Layout: tokens u32 [N] (N = batch·T positions), table and dTable [V, C], out and dOut [N, C]
// row-major; x and out of the position add [B, P], pos [P]. The position table's gradient
// dPos[p] = sum_b dOut[b, p] is bias.wgsl's biasBackward with N = B, C = P, S = 1.
// The backward is a gather, not a scatter: no float atomics, so every run gives the same bits (a
// scatter with atomicAdd would sum in whatever order the lanes arrive). Two entry points add the
// same terms in the same order (n ascending, from 0.0), so they give the same bits:
// - embeddingBackwardNaive, the baseline: one invocation per (v, c) scans all N tokens, V·C·N
//   steps, fine for a character vocabulary (V ~ 65-256) and N ~ 8k positions.
// - embeddingBackward: one workgroup per row v. Per tile of positions the lanes find the
//   positions holding v once (each lane counts a contiguous run, an exclusive scan of the counts
//   gives each run its place, so the list stays in position order) and then every lane adds its
//   columns c over that list: 2·V·N token tests plus N·C adds, instead of V·C·N.
// A token >= V cannot raise an error on the GPU: the forward writes NaN into its row, so the loss
// turns NaN and a step's non-finite check names it (as a bad label does in cross-entropy), and
// the backward never matches it; CharGpt checks tokens on the CPU before uploading.
// Grids spill into y past 65535 workgroups (linearWorkgroup).
// Overrides: workgroupSize (embeddingBackward: a power of two <= 256, so it divides tileSize).

override workgroupSize: u32 = 64u; // invocations per workgroup
const FORWARD_RUN: u32 = 4u; // embeddingForward: consecutive output elements per invocation

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
  // FORWARD_RUN consecutive elements per invocation, split where a row ends: one division per
  // run instead of one per element (integer division is slow on a CPU "GPU").
  let first = (linearWorkgroup(wid, nwg) * workgroupSize + lid) * FORWARD_RUN;
  let end = min(first + FORWARD_RUN, params.N * params.C);
  var n = first / params.C;
  var c = first - n * params.C;
  for (var i = first; i < end; i++) {
    let token = tokens[n];
    // A quiet NaN built at run time (WGSL const-evaluation refuses NaN).
    let nan = bitcast<f32>(0x7fc00000u | (token & 0xffffu));
    out[i] = select(nan, table[min(token, params.V - 1u) * params.C + c], token < params.V);
    c++;
    if (c == params.C) {
      c = 0u;
      n++;
    }
  }
}

// ---- backward
@group(0) @binding(0) var<storage, read> tokenIds: array<u32>; // [N]
@group(0) @binding(1) var<storage, read> dOut: array<f32>; // [N, C]
@group(0) @binding(2) var<storage, read_write> dTable: array<f32>; // [V, C]
@group(0) @binding(3) var<uniform> backwardParams: Params;

// Positions per tile, and the largest workgroupSize embeddingBackward supports: fixed lengths,
// since the race detector (wgsl_reflect) cannot size a workgroup array from an override.
const tileSize: u32 = 1024u;
const maxWorkgroupSize: u32 = 256u;

var<workgroup> tileRows: array<u32, tileSize>; // the tile's positions holding v, ascending
var<workgroup> runOffsets: array<u32, maxWorkgroupSize>; // per lane: its count, then its place
var<workgroup> tileMatches: u32; // how many of the tile's positions hold v

@compute @workgroup_size(workgroupSize)
fn embeddingBackward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                     @builtin(local_invocation_index) lid: u32) {
  let v = linearWorkgroup(wid, nwg);
  // The whole workgroup shares v, so this return keeps the barriers below in uniform control flow.
  if (v >= backwardParams.V) {
    return;
  }
  // Each lane owns columns lid, lid + workgroupSize, ... of row v for the whole kernel, so it
  // accumulates in dTable itself across tiles (a float32 store and load are exact: the same bits
  // as a register) with no other lane touching them. A row no position holds stays exactly 0.
  for (var c = lid; c < backwardParams.C; c += workgroupSize) {
    dTable[v * backwardParams.C + c] = 0.0;
  }
  let run = tileSize / workgroupSize; // positions each lane tests per tile
  for (var tileStart = 0u; tileStart < backwardParams.N; tileStart += tileSize) {
    // 1. each lane counts the matches in its contiguous run of the tile
    let runEnd = min(tileStart + (lid + 1u) * run, backwardParams.N);
    var found = 0u;
    for (var n = tileStart + lid * run; n < runEnd; n++) {
      found += select(0u, 1u, tokenIds[n] == v);
    }
    runOffsets[lid] = found;
    workgroupBarrier();
    // 2. exclusive scan of the counts in lane order: run l's matches go after runs 0..l-1's
    if (lid == 0u) {
      var placed = 0u;
      for (var l = 0u; l < workgroupSize; l++) {
        let count = runOffsets[l];
        runOffsets[l] = placed;
        placed += count;
      }
      tileMatches = placed;
    }
    workgroupBarrier();
    // 3. each lane writes its run's matching positions in order at its place
    var slot = runOffsets[lid];
    for (var n = tileStart + lid * run; n < runEnd; n++) {
      if (tokenIds[n] == v) {
        tileRows[slot] = n;
        slot++;
      }
    }
    workgroupBarrier();
    // 4. each lane adds its columns over the matches, ascending in n as the naive kernel does
    let matched = tileMatches;
    for (var c = lid; c < backwardParams.C; c += workgroupSize) {
      var acc = dTable[v * backwardParams.C + c];
      for (var m = 0u; m < matched; m++) {
        acc += dOut[tileRows[m] * backwardParams.C + c];
      }
      dTable[v * backwardParams.C + c] = acc;
    }
    // No barrier here: the next tile rewrites tileRows and tileMatches only after its first
    // barrier, which every lane reaches after these reads, and runOffsets[lid] is this lane's.
  }
}

// The baseline: one invocation per table element (v, c) scans all N positions in order.
@compute @workgroup_size(workgroupSize)
fn embeddingBackwardNaive(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
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
