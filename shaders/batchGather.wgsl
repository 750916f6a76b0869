// batchGather.wgsl: assembles one training batch from a byte dataset kept on the GPU.
//
//   gatherImages: out[b, p] = images[perm[offset + b], p] / 255   (PyTorch ToTensor's scaling)
//   gatherLabels: out[b]    = labels[perm[offset + b]]
//
// Legend: count images of P pixels, a batch of B. images is u8 [count, P] and labels u8 [count],
// both packed 4 bytes per u32 word, little endian: byte i is (word[i >> 2] >> ((i & 3) * 8)) & 0xff.
// perm is an epoch's permutation (u32) and `offset` the position of this batch in it, so a step
// only changes a uniform. An index >= count reads nothing: it yields NaN pixels and label -1.
// One invocation per output element; the grid spills into y past 65535 workgroups.
// Overrides: workgroupSize (threads per workgroup).

override workgroupSize: u32 = 256u; // invocations per workgroup

struct Params {
  count: u32, // images (and labels) in the dataset
  pixels: u32, // P: bytes per image (gatherImages only)
  batch: u32, // B: images in this batch
  offset: u32, // position in perm of the batch's first image
}

// Byte `byteIndex` of a packed array, given the u32 word that holds it.
fn byteOfWord(packed: u32, byteIndex: u32) -> u32 {
  return (packed >> ((byteIndex & 3u) * 8u)) & 0xffu;
}

// ---- images
@group(0) @binding(0) var<storage, read> imageBytes: array<u32>; // [count, P] bytes, packed
@group(0) @binding(1) var<storage, read> imagePerm: array<u32>; // image indices (length >= offset + B)
@group(0) @binding(2) var<storage, read_write> imagesOut: array<f32>; // [B, P] in [0, 1]
@group(0) @binding(3) var<uniform> imageParams: Params;

@compute @workgroup_size(workgroupSize)
fn gatherImages(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                @builtin(local_invocation_index) lid: u32) {
  let i = linearWorkgroup(wid, nwg) * workgroupSize + lid;
  if (i >= imageParams.batch * imageParams.pixels) {
    return;
  }
  let b = i / imageParams.pixels;
  let p = i % imageParams.pixels;
  let image = imagePerm[imageParams.offset + b];
  if (image >= imageParams.count) {
    // A quiet NaN, so a bad index poisons the loss visibly. Through a `let`: a constant NaN is
    // a compile error in WGSL (const-expressions must be finite).
    let quietNan = 0x7fc00000u;
    imagesOut[i] = bitcast<f32>(quietNan);
    return;
  }
  let byteIndex = image * imageParams.pixels + p;
  imagesOut[i] = f32(byteOfWord(imageBytes[byteIndex >> 2u], byteIndex)) / 255.0;
}

// ---- labels
@group(0) @binding(0) var<storage, read> labelBytes: array<u32>; // [count] bytes, packed
@group(0) @binding(1) var<storage, read> labelPerm: array<u32>; // image indices (length >= offset + B)
@group(0) @binding(2) var<storage, read_write> labelsOut: array<i32>; // [B] class ids
@group(0) @binding(3) var<uniform> labelParams: Params;

@compute @workgroup_size(workgroupSize)
fn gatherLabels(@builtin(workgroup_id) wid: vec3u, @builtin(num_workgroups) nwg: vec3u,
                @builtin(local_invocation_index) lid: u32) {
  let b = linearWorkgroup(wid, nwg) * workgroupSize + lid;
  if (b >= labelParams.batch) {
    return;
  }
  let image = labelPerm[labelParams.offset + b];
  if (image >= labelParams.count) {
    labelsOut[b] = -1;
    return;
  }
  labelsOut[b] = i32(byteOfWord(labelBytes[image >> 2u], image));
}
