#!/usr/bin/python3
"""PyTorch's run of a small DAG with a three-way fan-out, concat and adds, for the parity test.

  stem  = relu(Conv2d(2, 4, 3, pad 1, bias)(input))
  left  = Conv2d(4, 4, 3, pad 1, no bias)(stem);  leftbn = BatchNorm2d(4)(left)
  right = Conv2d(4, 2, 1, bias)(stem)
  cat   = cat([leftbn, right], channels)                 6 channels
  proj  = Conv2d(4, 6, 1, bias)(stem)                     (stem feeds left, right, proj)
  sum   = relu(cat + proj)
  gate  = AdaptiveAvgPool2d(1)(sum)                       [N, 6, 1, 1]
  mix   = relu(sum + gate)                                the gate broadcast over H, W
  pool  = AdaptiveAvgPool2d(1)(mix);  fc = Linear(6, 5)(flatten(pool)).  Mean cross-entropy.
Batch: N = 3 inputs [2, 6, 6] from random_floats(., 2101, -1, 1), labels floor(5 u),
u = mulberry32(2102). Initial conv/fc values: random_floats(n, 3100 + k, -b, b), b = 1/sqrt(fan_in),
k the index in state_dict order (every entry counted); batch norm 1, 0, 0, 1.

Writes dag_small.safetensors, dag_small.json and dag_small.model.json (the same network as
shadergrad's model config) next to itself; see README.md here for the tensor names.

  /usr/bin/python3 tests/golden/dag_small.py   (Debian's python3-torch 1.13; a few seconds)
  npx prettier --write tests/golden/dag_small.json tests/golden/dag_small.model.json
"""
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from parity_common import generate, mulberry32, random_floats, record

N, C, H = 3, 2, 6
CLASSES = 5
DATA_SEED, LABEL_SEED, PARAM_SEED = 2101, 2102, 3100


class DagSmall(nn.Module):
    def __init__(self):
        super().__init__()
        # registration order = state_dict order = the seeds' k
        self.stem = nn.Conv2d(C, 4, 3, padding=1, bias=True)
        self.left = nn.Conv2d(4, 4, 3, padding=1, bias=False)
        self.leftbn = nn.BatchNorm2d(4)
        self.right = nn.Conv2d(4, 2, 1, bias=True)
        self.proj = nn.Conv2d(4, 6, 1, bias=True)
        self.fc = nn.Linear(6, CLASSES)

    def forward(self, x, acts=None):
        s = self.stem(x)
        stem = record(acts, 'stem', F.relu(s), s)
        left = record(acts, 'left', self.left(stem))
        leftbn = record(acts, 'leftbn', self.leftbn(left))
        right = record(acts, 'right', self.right(stem))
        cat = record(acts, 'cat', torch.cat([leftbn, right], dim=1))
        proj = record(acts, 'proj', self.proj(stem))
        s = cat + proj
        total = record(acts, 'sum', F.relu(s), s)
        gate = record(acts, 'gate', F.adaptive_avg_pool2d(total, 1))
        s = total + gate
        mix = record(acts, 'mix', F.relu(s), s)
        pool = record(acts, 'pool', F.adaptive_avg_pool2d(mix, 1))
        return record(acts, 'fc', self.fc(pool.flatten(1)))


def conv(name, features, kernel, activation, bias=True, inputs=None):
    spec = {'name': name, 'type': 'conv2d'}
    if inputs:
        spec['inputs'] = inputs
    spec.update({'features': features, 'kernel': kernel, 'stride': 1, 'padding': kernel // 2,
                 'activation': activation})
    if not bias:
        spec['bias'] = False
    return spec


MODEL = {
    'input': {'channels': C, 'height': H, 'width': H},
    'classes': CLASSES,
    'loss': 'softmaxCrossEntropy',
    'layers': [
        conv('stem', 4, 3, 'relu'),
        conv('left', 4, 3, 'none', bias=False, inputs=['stem']),
        {'name': 'leftbn', 'type': 'batchNorm', 'activation': 'none'},
        conv('right', 2, 1, 'none', inputs=['stem']),
        {'name': 'cat', 'type': 'concat', 'inputs': ['leftbn', 'right']},
        conv('proj', 6, 1, 'none', inputs=['stem']),
        {'name': 'sum', 'type': 'add', 'inputs': ['cat', 'proj'], 'activation': 'relu'},
        {'name': 'gate', 'type': 'globalAvgPool', 'inputs': ['sum']},
        {'name': 'mix', 'type': 'add', 'inputs': ['sum', 'gate'], 'activation': 'relu'},
        {'name': 'pool', 'type': 'globalAvgPool'},
        {'name': 'fc', 'type': 'dense', 'units': CLASSES, 'activation': 'none'},
    ],
}

DESCRIPTION = ('DAG: stem = relu(conv 3x3 2 -> 4, bias); left = conv 3x3 4 -> 4 (no bias) of stem; '
               'leftbn = batch norm of left; right = conv 1x1 4 -> 2 of stem; cat = [leftbn, right] '
               '(6 channels); proj = conv 1x1 4 -> 6 of stem; sum = relu(cat + proj); gate = global '
               'average of sum [N, 6, 1, 1]; mix = relu(sum + gate) (broadcast over H, W); pool = '
               'global average of mix; fc 6 -> 5. Input [3, 2, 6, 6] in [-1, 1) (random_floats '
               'seed 2101), labels floor(5 u) (mulberry32 seed 2102), parameters seed 3100 + '
               'state_dict index.')


def main():
    x = random_floats(N * C * H * H, DATA_SEED, -1, 1).reshape(N, C, H, H)
    y = np.floor(mulberry32(N, LABEL_SEED) * CLASSES).astype(np.int64)
    generate('dag_small', DagSmall, MODEL, DESCRIPTION, x, y, PARAM_SEED)


if __name__ == '__main__':
    main()
