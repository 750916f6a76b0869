// stream.wgsl: a memory-bound copy that measures the adapter's bandwidth (GB/s), the yardstick for
// the memory-bound kernels as fmaPeak.wgsl is for the compute-bound ones (a roofline's two roofs).
//
//   streamCopy: y[i] = x[i]      i < count
//
// STREAM's "copy" (McCalpin, https://www.cs.virginia.edu/stream/): every element is read once and
// written once, 8 bytes per element, with no arithmetic to hide behind. One invocation per
// element, so neighbouring invocations touch neighbouring addresses (coalesced); the grid spills
// into y past 65535 workgroups (linearWorkgroup).
// Overrides: workgroupSize.

override workgroupSize: u32 = 256u; // invocations per workgroup

struct Params {
  count: u32, // number of elements copied
}

@group(0) @binding(0) var<storage, read> x: array<f32>; // [count] source
@group(0) @binding(1) var<storage, read_write> y: array<f32>; // [count] destination
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(workgroupSize)
fn streamCopy(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
              @builtin(local_invocation_index) lid: u32) {
  let i = linearWorkgroup(wid, nwg) * workgroupSize + lid;
  if (i >= params.count) {
    return;
  }
  y[i] = x[i];
}
