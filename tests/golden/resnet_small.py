#!/usr/bin/python3
"""PyTorch's run of shadergrad's ResNet preset at a small size, for the parity test (issue 13).

Width w = 4, one BasicBlock per stage, torchvision's structure and names, written by hand:
  conv1 (1 -> w, 3x3, pad 1, no bias), bn1, relu;
  layer1.0: BasicBlock(w -> w, stride 1): conv1, bn1, relu, conv2, bn2; relu(bn2 + x);
  layer2.0: BasicBlock(w -> 2w, stride 2) with downsample.0 (1x1 stride 2, no bias) and
            downsample.1 (BatchNorm2d); relu(bn2 + downsample);
  layer3.0: the same, 2w -> 4w, stride 2;
  avgpool (AdaptiveAvgPool2d(1)), flatten, fc (4w -> 10, bias). Mean cross-entropy.
Batch: N = 4 images [1, 12, 12] from random_floats(., 2001, 0, 1), labels floor(10 u),
u = mulberry32(2002). Initial conv/fc values: random_floats(n, 3000 + k, -b, b), b = 1/sqrt(fan_in),
k the index in state_dict order (every entry counted); batch norm 1, 0, 0, 1.

Writes resnet_small.safetensors, resnet_small.json and resnet_small.model.json (the same network
as shadergrad's model config) next to itself; see README.md here for the tensor names.

  /usr/bin/python3 tests/golden/resnet_small.py   (Debian's python3-torch 1.13; a few seconds)
  npx prettier --write tests/golden/resnet_small.json tests/golden/resnet_small.model.json
"""
import numpy as np
import torch.nn as nn
import torch.nn.functional as F

from parity_common import generate, mulberry32, random_floats, record

W = 4
N, C, H = 4, 1, 12
CLASSES = 10
DATA_SEED, LABEL_SEED, PARAM_SEED = 2001, 2002, 3000


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False),
                                            nn.BatchNorm2d(cout))

    def forward(self, x, acts, p):
        h = record(acts, f'{p}.conv1', self.conv1(x))
        b = self.bn1(h)
        h = record(acts, f'{p}.bn1', F.relu(b), b)
        h = record(acts, f'{p}.conv2', self.conv2(h))
        h = record(acts, f'{p}.bn2', self.bn2(h))
        identity = x
        if self.downsample is not None:
            d = record(acts, f'{p}.downsample.0', self.downsample[0](x))
            identity = record(acts, f'{p}.downsample.1', self.downsample[1](d))
        s = h + identity
        return record(acts, f'{p}.add', F.relu(s), s)


class ResNetSmall(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(C, W, 3, stride=1, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(W)
        self.layer1 = nn.Sequential(BasicBlock(W, W, 1))
        self.layer2 = nn.Sequential(BasicBlock(W, 2 * W, 2))
        self.layer3 = nn.Sequential(BasicBlock(2 * W, 4 * W, 2))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(4 * W, CLASSES)

    def forward(self, x, acts=None):
        h = record(acts, 'conv1', self.conv1(x))
        b = self.bn1(h)
        h = record(acts, 'bn1', F.relu(b), b)
        h = self.layer1[0](h, acts, 'layer1.0')
        h = self.layer2[0](h, acts, 'layer2.0')
        h = self.layer3[0](h, acts, 'layer3.0')
        h = record(acts, 'avgpool', self.avgpool(h))
        return record(acts, 'fc', self.fc(h.flatten(1)))


def conv(name, features, kernel, stride, inputs=None):
    spec = {'name': name}
    if inputs:
        spec['inputs'] = inputs
    spec.update({'type': 'conv2d', 'features': features, 'kernel': kernel, 'stride': stride,
                 'padding': kernel // 2, 'activation': 'none', 'bias': False})
    return spec


def bn(name, activation):
    return {'name': name, 'type': 'batchNorm', 'activation': activation}


def block(p, cin, cout, stride, source):
    layers = [conv(f'{p}.conv1', cout, 3, stride, [source]), bn(f'{p}.bn1', 'relu'),
              conv(f'{p}.conv2', cout, 3, 1), bn(f'{p}.bn2', 'none')]
    shortcut = source
    if stride != 1 or cin != cout:
        layers += [conv(f'{p}.downsample.0', cout, 1, stride, [source]),
                   bn(f'{p}.downsample.1', 'none')]
        shortcut = f'{p}.downsample.1'
    layers.append({'name': f'{p}.add', 'type': 'add', 'inputs': [f'{p}.bn2', shortcut],
                   'activation': 'relu'})
    return layers


MODEL = {
    'input': {'channels': C, 'height': H, 'width': H},
    'classes': CLASSES,
    'loss': 'softmaxCrossEntropy',
    'layers': [conv('conv1', W, 3, 1, ['input']), bn('bn1', 'relu'),
               *block('layer1.0', W, W, 1, 'bn1'),
               *block('layer2.0', W, 2 * W, 2, 'layer1.0.add'),
               *block('layer3.0', 2 * W, 4 * W, 2, 'layer2.0.add'),
               {'name': 'avgpool', 'type': 'globalAvgPool'},
               {'name': 'fc', 'type': 'dense', 'units': CLASSES, 'activation': 'none'}],
}

DESCRIPTION = ('ResNet preset at width 4, one BasicBlock per stage (torchvision structure and '
               'names): conv1 3x3 (no bias), bn1, relu; layer1.0 (4 -> 4, stride 1, identity '
               'shortcut); layer2.0 (4 -> 8, stride 2, downsample = 1x1 stride-2 conv + batch '
               'norm); layer3.0 (8 -> 16, stride 2, same); avgpool (global average); fc 16 -> 10. '
               'Input [4, 1, 12, 12] in [0, 1) (random_floats seed 2001), labels floor(10 u) '
               '(mulberry32 seed 2002), parameters seed 3000 + state_dict index.')


def main():
    x = random_floats(N * C * H * H, DATA_SEED, 0, 1).reshape(N, C, H, H)
    y = np.floor(mulberry32(N, LABEL_SEED) * CLASSES).astype(np.int64)
    generate('resnet_small', ResNetSmall, MODEL, DESCRIPTION, x, y, PARAM_SEED)


if __name__ == '__main__':
    main()
