/**
 * The course's residual network for small images, as a layer list with torchvision's names
 * (conv1, bn1, layer1.0.conv1, layer1.0.bn1, ..., layer2.0.downsample.0, fc), so a checkpoint
 * loads into the equivalent torch module with load_state_dict(strict=True):
 *
 *   conv1 3x3 (width) - bn1 - relu
 *   layer1..3: `blocks` basic blocks each, widths w, 2w, 4w; the first block of layers 2 and 3
 *     has stride 2 and a 1x1 stride-2 projection (downsample.0 conv, downsample.1 bn) on its skip
 *     basic block: conv1 3x3 - bn1 - relu - conv2 3x3 - bn2 - add(skip) - relu
 *   avgpool (global average) - fc (dense, classes)
 *
 * 28x28 inputs go 28 -> 28 -> 14 -> 7 -> 1. The switches a student compares: `skip: false` drops
 * every skip (and projection): the same stack of convolutions without the sums; `batchNorm:
 * false` drops every batch norm, and the convolutions get biases instead.
 */
import type { LayerSpec, ModelConfig, ModelInput } from './layers';

export interface ResnetKnobs {
  /** Channels of the stem and the first stage (doubling per stage). Default 16. */
  width?: number;
  /** Basic blocks per stage. Default 1 (a ResNet-8); 2 gives a ResNet-14. */
  blocks?: number;
  /** Skip connections (default true). */
  skip?: boolean;
  /** Batch normalization after every convolution (default true). */
  batchNorm?: boolean;
}

export const RESNET_DEFAULTS: Required<ResnetKnobs> = {
  width: 16,
  blocks: 1,
  skip: true,
  batchNorm: true,
};

type Relu = 'relu' | 'none';

/** Builds the layer list; each helper returns the name of the layer it ends with. */
class ResnetWriter {
  readonly layers: LayerSpec[] = [];

  constructor(private readonly k: Required<ResnetKnobs>) {}

  /** conv (+ bn), with the activation on whichever comes last. */
  convUnit(
    name: string,
    bnName: string,
    from: string,
    features: number,
    o: { kernel: number; stride: number; activation: Relu },
  ): string {
    const bn = this.k.batchNorm;
    this.layers.push({
      name,
      inputs: [from],
      type: 'conv2d',
      features,
      kernel: o.kernel,
      stride: o.stride,
      padding: o.kernel === 3 ? 1 : 0,
      activation: bn ? 'none' : o.activation,
      bias: !bn,
    });
    if (!bn) return name;
    this.layers.push({ name: bnName, type: 'batchNorm', activation: o.activation });
    return bnName;
  }

  block(prefix: string, from: string, inC: number, outC: number, stride: number): string {
    const { skip } = this.k;
    const h = this.convUnit(`${prefix}.conv1`, `${prefix}.bn1`, from, outC, {
      kernel: 3,
      stride,
      activation: 'relu',
    });
    const body = this.convUnit(`${prefix}.conv2`, `${prefix}.bn2`, h, outC, {
      kernel: 3,
      stride: 1,
      activation: skip ? 'none' : 'relu',
    });
    if (!skip) return body;
    const shortcut =
      stride !== 1 || inC !== outC
        ? this.convUnit(`${prefix}.downsample.0`, `${prefix}.downsample.1`, from, outC, {
            kernel: 1,
            stride,
            activation: 'none',
          })
        : from;
    const name = `${prefix}.add`;
    this.layers.push({ name, inputs: [body, shortcut], type: 'add', activation: 'relu' });
    return name;
  }
}

/** The residual network for `input` images and `classes` classes (see the file header). */
export function resnetModel(
  knobs: ResnetKnobs = {},
  input: ModelInput = { channels: 1, height: 28, width: 28 },
  classes = 10,
): ModelConfig {
  const k = { ...RESNET_DEFAULTS, ...knobs };
  const w = new ResnetWriter(k);
  let x = w.convUnit('conv1', 'bn1', 'input', k.width, {
    kernel: 3,
    stride: 1,
    activation: 'relu',
  });
  let channels = k.width;
  for (let stage = 1; stage <= 3; stage++) {
    const outC = k.width * 2 ** (stage - 1);
    for (let b = 0; b < k.blocks; b++) {
      const stride = stage > 1 && b === 0 ? 2 : 1;
      x = w.block(`layer${stage}.${b}`, x, channels, outC, stride);
      channels = outC;
    }
  }
  w.layers.push({ name: 'avgpool', inputs: [x], type: 'globalAvgPool' });
  w.layers.push({ name: 'fc', type: 'dense', units: classes, activation: 'none' });
  return { input: { ...input }, classes, layers: w.layers, loss: 'softmaxCrossEntropy' };
}
