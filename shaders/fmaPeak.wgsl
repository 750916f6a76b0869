// fmaPeak.wgsl: an FMA-bound kernel that measures the adapter's arithmetic peak (GFLOP/s), the
// yardstick for every other kernel's efficiency in bench/.
//
//   out[i] = sum of 8 vec4 accumulators after `iterations` rounds of acc = acc * mul + add
//
// Each round is 8 independent vec4 multiply-adds (64 flops counted as 2 per lane), so the chain
// is latency-tolerant and needs no memory traffic. With mul < 1 every accumulator converges to
// add / (1 - mul) without overflow. One invocation per output element.
// Overrides: workgroupSize.

override workgroupSize: u32 = 256u; // invocations per workgroup

struct Params {
  count: u32, // number of invocations (outputs)
  iterations: u32, // rounds of 8 vec4 FMAs per invocation
  mul: f32, // multiplier, in (0, 1)
  add: f32, // addend
}

@group(0) @binding(0) var<storage, read_write> sums: array<f32>; // per-invocation checksum
@group(0) @binding(1) var<uniform> params: Params;

@compute @workgroup_size(workgroupSize)
fn fmaPeak(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
           @builtin(local_invocation_index) lid: u32) {
  let i = linearWorkgroup(wid, nwg) * workgroupSize + lid;
  if (i >= params.count) {
    return;
  }
  let seed = f32(i % 16u) * 0.001;
  let m = vec4f(params.mul);
  let a = vec4f(params.add);
  var acc0 = vec4f(seed, seed + 0.1, seed + 0.2, seed + 0.3);
  var acc1 = acc0 + 0.01;
  var acc2 = acc0 + 0.02;
  var acc3 = acc0 + 0.03;
  var acc4 = acc0 + 0.04;
  var acc5 = acc0 + 0.05;
  var acc6 = acc0 + 0.06;
  var acc7 = acc0 + 0.07;
  for (var r = 0u; r < params.iterations; r++) {
    acc0 = fma(acc0, m, a);
    acc1 = fma(acc1, m, a);
    acc2 = fma(acc2, m, a);
    acc3 = fma(acc3, m, a);
    acc4 = fma(acc4, m, a);
    acc5 = fma(acc5, m, a);
    acc6 = fma(acc6, m, a);
    acc7 = fma(acc7, m, a);
  }
  let total = (acc0 + acc1) + (acc2 + acc3) + (acc4 + acc5) + (acc6 + acc7);
  sums[i] = total.x + total.y + total.z + total.w;
}
