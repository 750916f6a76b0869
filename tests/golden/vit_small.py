"""A tiny Vision Transformer in PyTorch, written by hand: the golden for shadergrad's ViT preset.

The module is the minimal implementation whose state_dict names src/models/vit.ts (vitModel) uses:
patch (nn.Conv2d(C, width, P, stride=P), then flatten(2).transpose(1, 2): [N, S, width] tokens,
S = (H // P) * (W // P)), pos (a learned [S, width] table, added), blocks.<i> with ln1,
attn.query/key/value/proj, ln2, mlp.fc1/fc2 (pre-norm, exact GELU, no mask), norm (layer norm),
the mean over the tokens (no class token), head. The loss is the mean cross-entropy over the batch.
The image is not square (14 x 21, 2 x 3 patches), so a swapped height and width shows.

It also checks that bench/torchTrain.py's Net, built from the layer list vitModel gives (written
into the .json as `model`), has the same state_dict and logits. Writes vit_small.safetensors and
vit_small.json (see README.md).

  /usr/bin/python3 tests/golden/vit_small.py
  npx prettier --write tests/golden/vit_small.json
"""
import math
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from parity_common import (  # noqa: E402
    Block,
    PositionEmbedding,
    adamw_steps,
    cross_check,
    f32,
    precision_table,
    record,
    record_first_step,
    write_golden,
)
from precision_cnn import mulberry32, random_floats  # noqa: E402

CHANNELS, HEIGHT, WIDTH, PATCH = 1, 14, 21, 7
C, HEADS, HIDDEN, BLOCKS, CLASSES, BATCH = 12, 2, 24, 2, 10, 3  # head width 6: no power of two
S = (HEIGHT // PATCH) * (WIDTH // PATCH)
ADAMW = dict(lr=1e-2, weight_decay=0.05)
STEPS = 3
PARAM_SEED, IMAGE_SEED, LABEL_SEED = 4100, 2301, 2302

# vitModel({ width: 12, blocks: 2, heads: 2, patch: 7, hidden: 24 }, input, 10), for cross_check
# and for the test, which asserts that vitModel still gives this list
MODEL = {
    'input': {'channels': CHANNELS, 'height': HEIGHT, 'width': WIDTH},
    'classes': CLASSES,
    'layers': [{'name': 'patch', 'type': 'patchEmbedding', 'features': C, 'patch': PATCH},
               {'name': 'pos', 'type': 'positionEmbedding'}]
              + [{'name': f'blocks.{i}', 'type': 'transformerBlock', 'heads': HEADS,
                  'hidden': HIDDEN} for i in range(BLOCKS)]
              + [{'name': 'norm', 'type': 'layerNorm'}, {'name': 'pool', 'type': 'tokenMean'},
                 {'name': 'head', 'type': 'dense', 'units': CLASSES, 'activation': 'none'}],
    'loss': 'softmaxCrossEntropy',
}


class Vit(nn.Module):
    def __init__(self):
        super().__init__()
        self.patch, self.pos = nn.Conv2d(CHANNELS, C, PATCH, stride=PATCH), PositionEmbedding(S, C)
        self.blocks = nn.ModuleList(Block(C, HEADS, HIDDEN, causal=False) for _ in range(BLOCKS))
        self.norm, self.head = nn.LayerNorm(C), nn.Linear(C, CLASSES)

    def forward(self, images, acts=None):
        grid = record(acts, 'patch', self.patch(images))  # [N, C, H/P, W/P]
        x = record(acts, 'pos', self.pos(grid.flatten(2).transpose(1, 2)))  # [N, S, C]
        for i, block in enumerate(self.blocks):
            x = block(x, acts, f'blocks.{i}')
        x = record(acts, 'norm', self.norm(x))
        return self.head(record(acts, 'pool', x.mean(1)))


def initial_state(net):
    """Every parameter from random_floats(n, PARAM_SEED + k, lo, hi), k its state_dict index."""
    state = {}
    for k, (name, t) in enumerate(net.state_dict().items()):
        owner = net.get_submodule(name.rsplit('.', 1)[0])
        if isinstance(owner, (nn.Linear, nn.Conv2d)):
            bound = 1 / math.sqrt(owner.weight[0].numel())  # fan_in: in_features or C * P * P
            lo, hi = -bound, bound
        elif isinstance(owner, nn.LayerNorm):  # away from ones/zeros, so the affine is exercised
            lo, hi = (0.5, 1.5) if name.endswith('weight') else (-0.2, 0.2)
        else:  # the position table
            lo, hi = -1.0, 1.0
        state[name] = random_floats(t.numel(), PARAM_SEED + k, lo, hi).reshape(tuple(t.shape))
    return state


def build(state, dtype):
    net = Vit().to(dtype)
    net.load_state_dict({k: torch.from_numpy(v).to(dtype) for k, v in state.items()})
    return net


def train(state, images, labels, dtype, out=None):
    net = build(state, dtype).train()
    x = images.to(dtype)
    return adamw_steps(net, lambda: net(x), lambda z: F.cross_entropy(z, labels), STEPS, ADAMW, out)


def main():
    torch.set_num_threads(1)
    images_np = random_floats(BATCH * CHANNELS * HEIGHT * WIDTH, IMAGE_SEED, 0, 1).reshape(
        BATCH, CHANNELS, HEIGHT, WIDTH)
    labels_np = np.floor(mulberry32(BATCH, LABEL_SEED) * CLASSES).astype(np.int64)
    images, labels = torch.from_numpy(images_np), torch.from_numpy(labels_np)
    state = initial_state(Vit())
    out = {'images': images_np, 'labels': labels_np, **state}

    net = build(state, torch.float32).train()
    loss = record_first_step(net, lambda acts: net(images, acts),
                             lambda z: F.cross_entropy(z, labels), out)

    losses32, final32 = train(state, images, labels, torch.float32, out)
    losses64, final64 = train(state, images, labels, torch.float64)
    table = precision_table(final32, final64)
    summary = {
        'torch': torch.__version__,
        'case': 'vit_small',
        'description': 'ViT: patch conv, pos, 2 pre-norm blocks (no mask), norm, token mean, head',
        'knobs': dict(width=C, blocks=BLOCKS, heads=HEADS, patch=PATCH, hidden=HIDDEN),
        'batch': BATCH,
        'model': MODEL,
        'param_seed': PARAM_SEED,
        'image_seed': IMAGE_SEED,
        'label_seed': LABEL_SEED,
        'optimizer': {**ADAMW, 'betas': [0.9, 0.999], 'eps': 1e-8},
        'steps': STEPS,
        'loss_initial': loss.item(),
        'adamw_losses_f32': losses32,
        'adamw_losses_f64': losses64,
        'adamw_max_abs_f32_minus_f64': table,
        'adamw_max_abs_f32_minus_f64_overall': max(table.values()),
        'model_config_check_max_abs_logits': cross_check(Vit, MODEL, state, images),
        'conventions': {
            'data': 'images = random_floats(N*C*H*W, 2301, 0, 1) as [N, C, H, W]; labels = '
                    'floor(mulberry32(N, 2302) * 10)',
            'init': 'every state_dict entry k: random_floats(n, 4100 + k, lo, hi); conv and '
                    'linear: +-1/sqrt(fan_in); layer norm weight [0.5, 1.5), bias [-0.2, 0.2); '
                    'pos [-1, 1)',
            'tokens': 'patch conv output [N, C, H/P, W/P] -> flatten(2).transpose(1, 2): token '
                      's = row * (W/P) + column',
            'attention': 'softmax(q k^T / sqrt(d)) v per head, no mask; heads split as '
                         'view(N, T, H, D).transpose(1, 2)',
            'gelu': 'exact (erf) form',
            'act': 'act.patch: the conv output (NCHW); act.pos: tokens + pos; act.blocks.<i>: '
                   'the block output; act.blocks.<i>.attn.softmax: [N, H, S, S]; act.norm; '
                   'act.pool: the token mean [N, C]',
            'loss': 'mean cross-entropy over the batch',
            'adamw': 'torch.optim.AdamW(lr 1e-2, weight_decay 0.05) on every parameter; '
                     'adamw.step<k>.<name> after k steps, the loss of step k before its update',
        },
    }
    write_golden('vit_small', out, summary)


if __name__ == '__main__':
    main()
