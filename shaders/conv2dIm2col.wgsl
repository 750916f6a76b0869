// conv2dIm2col.wgsl: im2col and its adjoint col2im, which turn a 2-D convolution into a matmul
// (Chellapilla et al. 2006, "High Performance Convolutional Neural Networks for Document
// Processing"): out[n] = weight[O, C*KH*KW] x cols[n] with weight OIHW viewed as a matrix.
//
// Legend: N, C, H, W (input, NCHW), KH, KW (kernel), OH, OW (output), strides sH, sW.
// cols is [N, C*KH*KW, OH*OW]: row r = (c*KH + kh)*KW + kw, column oh*OW + ow.
//
//   im2col: cols[n, r, oh*OW + ow] = x[n, c, oh*sH - padTop + kh, ow*sW - padLeft + kw] (0 in pad).
//           One invocation per output row segment (n, r, oh) writes its OW columns: the index
//           arithmetic (divisions, on a CPU "GPU" the dominant cost) is paid once per segment.
//   im2colPlane: the same, one invocation per cols row (n, r) writing all OH*OW columns, so the
//           divisions are paid once per row; im2colPlaneVec4 stores them as vec4s (the default
//           when OH*OW % 4 == 0).
//   col2im: dX[n, c, h, w] = sum of dCols over every (kh, kw, oh, ow) that copied x[n, c, h, w]:
//           oh*sH + kh == h + padTop, ow*sW + kw == w + padLeft. A GATHER, one invocation
//           per input row (n, c, h) summing each of its W elements in a fixed order (kh outer,
//           kw inner), so no atomics; the valid (kh, oh) pairs depend only on h, found once.
//   col2imUnitStride: col2im for stride 1, the same sums in the same order without divisions.
//
// The grid spills into y past 65535 workgroups (linearWorkgroup in common.wgsl).
// Storage: the im2col entry points write cols through the alias ColsStored: f32 here, f16 in the
// module the wrapper builds for an f16 cols tensor (half the bytes; values rounded to nearest).
// Overrides: workgroupSize (invocations per workgroup).

override workgroupSize: u32 = 256u; // invocations per workgroup

struct Params {
  N: u32, // images
  C: u32, // input channels
  H: u32, // input height
  W: u32, // input width
  KH: u32, // kernel height
  KW: u32, // kernel width
  strideH: u32, // vertical stride
  strideW: u32, // horizontal stride
  padTop: u32, // zero rows above the input (rows below are implied by OH)
  padLeft: u32, // zero columns left of the input
  OH: u32, // output height
  OW: u32, // output width
  count: u32, // invocations that do work: N*C*KH*KW*OH (im2col), N*C*KH*KW (im2colPlane),
             // dX rows N*C*H (col2im)
}

// Where cols row rowIndex = n * C*KH*KW + r copies from: the start of input plane (n, c) and
// the kernel tap (kh, kw) of r = (c*KH + kh)*KW + kw. Parameters are named unlike any binding
// (see common.wgsl's note on wgsl_reflect).
struct ColsRowSource {
  planeStart: u32, // index of x[n, c, 0, 0]
  kh: u32, // kernel row
  kw: u32, // kernel column
}

fn colsRowSource(rowIndex: u32, geo: Params) -> ColsRowSource {
  let taps = geo.C * geo.KH * geo.KW;
  let r = rowIndex % taps;
  let n = rowIndex / taps;
  let c = r / (geo.KW * geo.KH);
  return ColsRowSource((n * geo.C + c) * geo.H * geo.W, (r / geo.KW) % geo.KH, r % geo.KW);
}

// ---- im2col
alias ColsStored = f32; // cols' element type in memory (f16 in the wrapper's f16 module)

@group(0) @binding(0) var<storage, read> x: array<f32>; // input [N, C, H, W]
@group(0) @binding(1) var<storage, read_write> cols: array<ColsStored>; // output [N, C*KH*KW, OH*OW]
@group(0) @binding(2) var<uniform> params: Params;

@compute @workgroup_size(workgroupSize)
fn im2col(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
          @builtin(local_invocation_index) lid: u32) {
  let i = linearWorkgroup(wid, nwg) * workgroupSize + lid; // output row (n, r, oh)
  if (i >= params.count) {
    return;
  }
  let p = params;
  let oh = i % p.OH;
  let nr = i / p.OH; // n * C*KH*KW + r
  let src = colsRowSource(nr, p);
  let kh = src.kh;
  let kw = src.kw;
  let outBase = (nr * p.OH + oh) * p.OW;
  // Row hp of the padded input; the real input starts at (padTop, padLeft).
  let hp = oh * p.strideH + kh;
  if (hp < p.padTop || hp - p.padTop >= p.H) {
    for (var ow = 0u; ow < p.OW; ow++) {
      cols[outBase + ow] = ColsStored(0.0);
    }
    return;
  }
  let inBase = src.planeStart + (hp - p.padTop) * p.W;
  for (var ow = 0u; ow < p.OW; ow++) {
    let wp = ow * p.strideW + kw;
    var value = 0.0;
    if (wp >= p.padLeft && wp - p.padLeft < p.W) {
      value = x[inBase + wp - p.padLeft];
    }
    cols[outBase + ow] = ColsStored(value);
  }
}

// im2col with one invocation per cols row (n, r): its OH*OW columns in one pass, so the
// divisions are paid once per OH*OW elements instead of once per OW. Same values as im2col.
@group(0) @binding(0) var<storage, read> planeX: array<f32>; // input [N, C, H, W]
@group(0) @binding(1) var<storage, read_write> planeCols: array<ColsStored>; // [N, C*KH*KW, OH*OW]
@group(0) @binding(2) var<uniform> planeParams: Params;

@compute @workgroup_size(workgroupSize)
fn im2colPlane(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
               @builtin(local_invocation_index) lid: u32) {
  let nr = linearWorkgroup(wid, nwg) * workgroupSize + lid; // cols row n * C*KH*KW + r
  let p = planeParams;
  if (nr >= p.count) {
    return;
  }
  let src = colsRowSource(nr, p);
  var out = nr * p.OH * p.OW;
  for (var oh = 0u; oh < p.OH; oh++) {
    // Row hp of the padded input; the real input starts at (padTop, padLeft). Rows above wrap
    // around as u32 and fail the < test.
    let h = oh * p.strideH + src.kh - p.padTop;
    let rowInside = h < p.H;
    let rowStart = src.planeStart + select(0u, h, rowInside) * p.W;
    for (var ow = 0u; ow < p.OW; ow++) {
      let w = ow * p.strideW + src.kw - p.padLeft;
      var value = 0.0;
      if (rowInside && w < p.W) {
        value = planeX[rowStart + w];
      }
      planeCols[out] = ColsStored(value);
      out++;
    }
  }
}

// im2colPlane writing vec4s: the same values, a quarter of the store instructions. Needs
// OH*OW % 4 == 0 (so every cols row starts on a vec4); the wrapper checks.
@group(0) @binding(0) var<storage, read> quadX: array<f32>; // input [N, C, H, W]
@group(0) @binding(1) var<storage, read_write> quadCols: array<vec4<ColsStored>>; // [N, C*KH*KW, OH*OW/4]
@group(0) @binding(2) var<uniform> quadParams: Params;

@compute @workgroup_size(workgroupSize)
fn im2colPlaneVec4(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                   @builtin(local_invocation_index) lid: u32) {
  let nr = linearWorkgroup(wid, nwg) * workgroupSize + lid; // cols row n * C*KH*KW + r
  let p = quadParams;
  if (nr >= p.count) {
    return;
  }
  let src = colsRowSource(nr, p);
  let quads = p.OH * p.OW / 4u;
  var at = vec2u(0u, 0u); // (oh, ow) of the next value, advanced without division
  for (var q = 0u; q < quads; q++) {
    // Written out, not looped over the vec4's components: SwiftShader does not unroll loops, and
    // a looped component index runs lane by lane there (matmul.wgsl's ROWS WRITTEN OUT).
    let v0 = quadValue(src, p, &at);
    let v1 = quadValue(src, p, &at);
    let v2 = quadValue(src, p, &at);
    let v3 = quadValue(src, p, &at);
    quadCols[nr * quads + q] = vec4<ColsStored>(vec4f(v0, v1, v2, v3));
  }
}

// The cols value at position `at` = (oh, ow) of src's row, 0 in the padding; then `at` moves to the
// next position (row-major).
fn quadValue(src: ColsRowSource, p: Params, at: ptr<function, vec2u>) -> f32 {
  // Rows and columns left of or above the input wrap around as u32 and fail the < tests.
  let h = (*at).x * p.strideH + src.kh - p.padTop;
  let w = (*at).y * p.strideW + src.kw - p.padLeft;
  var value = 0.0;
  if (h < p.H && w < p.W) {
    value = quadX[src.planeStart + h * p.W + w];
  }
  *at = select(vec2u((*at).x, (*at).y + 1u), vec2u((*at).x + 1u, 0u), (*at).y + 1u == p.OW);
  return value;
}

@group(0) @binding(0) var<storage, read> dCols: array<f32>; // dL/dcols [N, C*KH*KW, OH*OW]
@group(0) @binding(1) var<storage, read_write> dX: array<f32>; // dL/dx [N, C, H, W]
@group(0) @binding(2) var<uniform> col2imParams: Params;

@compute @workgroup_size(workgroupSize)
fn col2im(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
          @builtin(local_invocation_index) lid: u32) {
  let i = linearWorkgroup(wid, nwg) * workgroupSize + lid; // input row (n, c, h)
  if (i >= col2imParams.count) {
    return;
  }
  let p = col2imParams;
  let ohw = p.OH * p.OW;
  let h = i % p.H;
  let nc = i / p.H; // n * C + c
  let hp = h + p.padTop; // this row in the padded input
  let firstRow = nc * p.KH * p.KW; // cols row of (c, kh = 0, kw = 0) in image n
  // oh*sH + kh == hp has a whole oh >= 0 iff kh <= hp and kh == hp (mod sH): kh steps by sH from
  // hp % sH, and oh steps down by 1 from hp / sH. The same for kw and ow along the row, where
  // (wp % sW, wp / sW) is carried from one w to the next: no division inside the loops.
  let kh0 = hp % p.strideH;
  let oh0 = hp / p.strideH;
  var kw0 = p.padLeft % p.strideW;
  var ow0 = p.padLeft / p.strideW;
  for (var w = 0u; w < p.W; w++) {
    let wp = w + p.padLeft;
    var sum = 0.0;
    var oh = oh0;
    for (var kh = kh0; kh < p.KH && kh <= hp; kh += p.strideH) {
      if (oh < p.OH) { // else past the last window (bottom padding or a dropped remainder)
        var ow = ow0;
        for (var kw = kw0; kw < p.KW && kw <= wp; kw += p.strideW) {
          if (ow < p.OW) {
            sum += dCols[(firstRow + kh * p.KW + kw) * ohw + oh * p.OW + ow];
          }
          ow--; // wraps past 0 only after the last kw <= wp
        }
      }
      oh--; // likewise
    }
    dX[i * p.W + w] = sum;
    kw0++;
    if (kw0 == p.strideW) {
      kw0 = 0u;
      ow0++;
    }
  }
}

// col2im for strideH = strideW = 1 (the common 'same' convolution): the same sums in the same
// order (kh outer, kw inner), with the ranges of kh and kw found by comparison instead of
// division: window (oh, ow) = (hp - kh, wp - kw) must exist, so hp - OH < kh <= hp.
@compute @workgroup_size(workgroupSize)
fn col2imUnitStride(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                    @builtin(local_invocation_index) lid: u32) {
  let i = linearWorkgroup(wid, nwg) * workgroupSize + lid; // input row (n, c, h)
  if (i >= col2imParams.count) {
    return;
  }
  let p = col2imParams;
  let ohw = p.OH * p.OW;
  let hp = i % p.H + p.padTop; // this row in the padded input
  let firstRow = (i / p.H) * p.KH * p.KW; // cols row of (c, kh = 0, kw = 0) in image n
  let khLo = select(0u, hp + 1u - p.OH, hp + 1u > p.OH);
  let khHi = min(p.KH, hp + 1u);
  for (var w = 0u; w < p.W; w++) {
    let wp = w + p.padLeft;
    let kwLo = select(0u, wp + 1u - p.OW, wp + 1u > p.OW);
    let kwHi = min(p.KW, wp + 1u);
    var sum = 0.0;
    for (var kh = khLo; kh < khHi; kh++) {
      // dCols[(firstRow + kh*KW + kw)*OH*OW + (hp - kh)*OW + (wp - kw)], stepping kw
      let base = (firstRow + kh * p.KW) * ohw + (hp - kh) * p.OW + wp;
      for (var kw = kwLo; kw < kwHi; kw++) {
        sum += dCols[base + kw * ohw - kw];
      }
    }
    dX[i * p.W + w] = sum;
  }
}
