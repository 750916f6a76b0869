// concat.wgsl: concatenation along the channels (torch.cat(dim=1)), one input at a time.
//
//   concatForward:  out[n, channelOffset + c, s] = x[n, c, s]      for c < C
//   concatBackward: dX[n, c, s] = dOut[n, channelOffset + c, s]
//
// Layout: x and dX [N, C, S], out and dOut [N, outC, S], row-major, S = H*W (1 for dense
// tensors). A k-way concat is k dispatches, each writing its own channel slice. One invocation
// per element of x; the grid spills into y past 65535 workgroups (linearWorkgroup).
// Overrides: workgroupSize.

override workgroupSize: u32 = 64u; // invocations per workgroup

struct Params {
  N: u32, // batch
  C: u32, // channels of x (the slice)
  S: u32, // spatial size per channel
  outC: u32, // channels of out
  channelOffset: u32, // where x's channels start in out
}

// ---- forward
@group(0) @binding(0) var<storage, read> x: array<f32>; // [N, C, S]
@group(0) @binding(1) var<storage, read_write> out: array<f32>; // [N, outC, S], one slice written
@group(0) @binding(2) var<uniform> params: Params;

// The element of the concatenated tensor that element i of a slice maps to.
fn sliceIndex(i: u32, p: Params) -> u32 {
  let perSample = p.C * p.S;
  let n = i / perSample;
  return (n * p.outC + p.channelOffset) * p.S + (i - n * perSample);
}

@compute @workgroup_size(workgroupSize)
fn concatForward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                 @builtin(local_invocation_index) lid: u32) {
  let i = linearWorkgroup(wid, nwg) * workgroupSize + lid;
  if (i >= params.N * params.C * params.S) {
    return;
  }
  out[sliceIndex(i, params)] = x[i];
}

// ---- backward
@group(0) @binding(0) var<storage, read> dOut: array<f32>; // [N, outC, S]
@group(0) @binding(1) var<storage, read_write> dX: array<f32>; // [N, C, S]
@group(0) @binding(2) var<uniform> backwardParams: Params;

@compute @workgroup_size(workgroupSize)
fn concatBackward(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                  @builtin(local_invocation_index) lid: u32) {
  let i = linearWorkgroup(wid, nwg) * workgroupSize + lid;
  if (i >= backwardParams.N * backwardParams.C * backwardParams.S) {
    return;
  }
  dX[i] = dOut[sliceIndex(i, backwardParams)];
}
