"""A tiny character-level GPT in PyTorch, written by hand: the golden for shadergrad's transformer ops.

The module is the minimal implementation whose state_dict names shadergrad's transformer builders
(src/models/transformer.ts) use: wte (nn.Embedding), wpe (a learned [T, C] table), blocks.<i> with
ln1, attn.query/key/value/proj, ln2, mlp.fc1/fc2 (pre-norm, GELU), ln_f, head. The loss is the mean
cross-entropy over all N*T positions. Writes transformer_small.safetensors and .json (see README.md).
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
    f32,
    precision_table,
    record_first_step,
    write_golden,
)
from precision_cnn import mulberry32, random_floats  # noqa: E402

VOCAB, T, C, HEADS, HIDDEN, LAYERS, BATCH = 11, 6, 8, 2, 16, 2, 3
ADAMW = dict(lr=1e-2, weight_decay=0.05)
STEPS = 3
PARAM_SEED = 4000


class Gpt(nn.Module):
    def __init__(self):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(VOCAB, C), PositionEmbedding(T, C)
        self.blocks = nn.ModuleList(Block(C, HEADS, HIDDEN, causal=True) for _ in range(LAYERS))
        self.ln_f, self.head = nn.LayerNorm(C), nn.Linear(C, VOCAB)

    def forward(self, tokens, acts=None):
        acts = {} if acts is None else acts
        x = self.wpe(self.wte(tokens))
        acts['act.wpe'] = x
        for i, block in enumerate(self.blocks):
            x = block(x, acts, f'blocks.{i}')
        return self.head(self.ln_f(x))


def initial_state(net):
    """Every parameter from random_floats(n, PARAM_SEED + k, lo, hi), k its state_dict index."""
    state = {}
    for k, (name, t) in enumerate(net.state_dict().items()):
        owner = net.get_submodule(name.rsplit('.', 1)[0])
        if isinstance(owner, nn.Linear):
            bound = 1 / math.sqrt(owner.in_features)
            lo, hi = -bound, bound
        elif isinstance(owner, nn.LayerNorm):  # away from ones/zeros, so the affine is exercised
            lo, hi = (0.5, 1.5) if name.endswith('weight') else (-0.2, 0.2)
        else:  # the embeddings
            lo, hi = -1.0, 1.0
        state[name] = random_floats(t.numel(), PARAM_SEED + k, lo, hi).reshape(tuple(t.shape))
    return state


def build(state, dtype):
    net = Gpt().to(dtype)
    net.load_state_dict({k: torch.from_numpy(v).to(dtype) for k, v in state.items()})
    return net


def loss_of(logits, targets):
    return F.cross_entropy(logits.reshape(-1, VOCAB), targets.reshape(-1))


def train(state, tokens, targets, dtype, out=None):
    net = build(state, dtype).train()
    return adamw_steps(net, lambda: net(tokens), lambda z: loss_of(z, targets), STEPS, ADAMW, out)


def main():
    torch.set_num_threads(1)
    rand = mulberry32(BATCH * (T + 1), 2201)
    ids = np.floor(np.asarray(rand, dtype=np.float64) * VOCAB).astype(np.int64).reshape(BATCH, T + 1)
    tokens_np, targets_np = ids[:, :T].copy(), ids[:, 1:].copy()
    tokens, targets = torch.from_numpy(tokens_np), torch.from_numpy(targets_np)
    state = initial_state(Gpt())
    out = {'tokens': tokens_np, 'targets': targets_np, **state}

    net = build(state, torch.float32).train()
    loss = record_first_step(net, lambda acts: net(tokens, acts), lambda z: loss_of(z, targets), out)

    losses32, final32 = train(state, tokens, targets, torch.float32, out)
    losses64, final64 = train(state, tokens, targets, torch.float64)
    table = precision_table(final32, final64)
    summary = {
        'torch': torch.__version__,
        'case': 'transformer_small',
        'description': 'character-level GPT: wte, wpe, 2 pre-norm causal blocks, ln_f, head',
        'sizes': dict(vocab=VOCAB, context=T, width=C, heads=HEADS, hidden=HIDDEN, layers=LAYERS,
                      batch=BATCH),
        'param_seed': PARAM_SEED,
        'token_seed': 2201,
        'optimizer': {**ADAMW, 'betas': [0.9, 0.999], 'eps': 1e-8},
        'steps': STEPS,
        'loss_initial': loss.item(),
        'adamw_losses_f32': losses32,
        'adamw_losses_f64': losses64,
        'adamw_max_abs_f32_minus_f64': table,
        'adamw_max_abs_f32_minus_f64_overall': max(table.values()),
        'conventions': {
            'tokens': 'ids = floor(mulberry32(BATCH * (T + 1), 2201) * VOCAB) as [BATCH, T + 1]; '
                      'tokens = ids[:, :T], targets = ids[:, 1:]',
            'init': 'every state_dict entry k: random_floats(n, 4000 + k, lo, hi); linear: '
                    '+-1/sqrt(in_features); layer norm weight [0.5, 1.5), bias [-0.2, 0.2); '
                    'embeddings [-1, 1)',
            'attention': 'softmax(q k^T / sqrt(d), causal mask) v per head; heads split as '
                         'view(N, T, H, D).transpose(1, 2)',
            'gelu': 'exact (erf) form',
            'loss': 'mean cross-entropy over all N*T positions',
            'adamw': 'torch.optim.AdamW(lr 1e-2, weight_decay 0.05) on every parameter',
        },
    }
    write_golden('transformer_small', out, summary)


if __name__ == '__main__':
    main()
