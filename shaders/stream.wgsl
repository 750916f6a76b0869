// stream.wgsl: a memory-bound copy that measures the adapter's bandwidth (GB/s), the yardstick for
// the memory-bound kernels as fmaPeak.wgsl is for the compute-bound ones (a roofline's two roofs).
//
//   streamCopy:     y[i] = x[i]      i < count
//   streamCopyVec4: the same as vec4s, `vec4PerInvocation` of them per invocation (count % 4 == 0)
//
// STREAM's "copy" (McCalpin, https://www.cs.virginia.edu/stream/): every element is read once and
// written once, 8 bytes per element, with no arithmetic to hide behind. One invocation per
// element, so neighbouring invocations touch neighbouring addresses (coalesced); the grid spills
// into y past 65535 workgroups (linearWorkgroup).
// A CPU driver (lavapipe) runs invocations as SIMD lanes, and a scalar copy spends more on
// per-invocation bookkeeping than on memory: the vec4 entry point moves 16 bytes per load and
// several vec4s per invocation, so it measures the memory system, not the lane overhead. Within a
// workgroup, round r of every invocation touches neighbouring vec4s (still coalesced).
// Overrides: workgroupSize, vec4PerInvocation.

override workgroupSize: u32 = 256u; // invocations per workgroup
override vec4PerInvocation: u32 = 8u; // vec4s each streamCopyVec4 invocation copies

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

@group(0) @binding(0) var<storage, read> x4: array<vec4f>; // [count / 4] source
@group(0) @binding(1) var<storage, read_write> y4: array<vec4f>; // [count / 4] destination
@group(0) @binding(2) var<uniform> params4: Params; // count: vec4s, not floats

@compute @workgroup_size(workgroupSize)
fn streamCopyVec4(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                  @builtin(local_invocation_index) lid: u32) {
  // Workgroup w owns vec4s [w * workgroupSize * vec4PerInvocation, ...); round r covers a
  // contiguous run of workgroupSize of them, one per invocation.
  let first = linearWorkgroup(wid, nwg) * workgroupSize * vec4PerInvocation + lid;
  for (var r = 0u; r < vec4PerInvocation; r++) {
    let i = first + r * workgroupSize;
    if (i < params4.count) {
      y4[i] = x4[i];
    }
  }
}
