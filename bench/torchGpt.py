#!/usr/bin/python3
"""Trains `shadergrad gpt`'s character-level GPT with PyTorch, with its recipe, for a loss comparison.

The same model (src/models/gpt.ts: wte, wpe, pre-norm causal blocks with erf GELU, ln_f, head;
the same state-dict names), the same text, vocabulary (sorted characters) and 90/10 split
(src/data/text.ts), AdamW with weight decay 0.01 on every parameter, and the same windows in the
same order: mulberry32(seed) draws each step's window starts, and at each progress step a
validation batch from the same stream, as src/cli/gpt.ts does. It prints the same progress lines
and, last, the mean loss over every consecutive window of the validation part, then one JSON line.

Like for like, from one set of weights:

  /usr/bin/python3 bench/torchGpt.py --write-init runs/gpt-init.safetensors
  npm start -- gpt --init runs/gpt-init.safetensors --out runs/gpt-same
  /usr/bin/python3 bench/torchGpt.py --init runs/gpt-init.safetensors

Sizes and recipe flags match `shadergrad gpt`'s names and defaults (--steps, --batch, --context,
--width, --heads, --layers, --lr, --eval-every, --seed, --text). Debian's python3-torch is all
it needs. The vocabulary sorts by code point; JavaScript sorts by UTF-16 unit, which agrees for
every character below U+10000 (the default text is ASCII).
"""
import argparse
import json
import os
import sys
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torchTrain import (  # noqa: E402
    PositionTable,
    TransformerBlock,
    mulberry32,
    read_safetensors,
    write_safetensors,
)

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..')


class Gpt(nn.Module):
    """gptGraph: token and position embeddings, causal blocks, a final norm, a dense head."""

    def __init__(self, vocab, context, width, heads, layers, hidden):
        super().__init__()
        self.wte = nn.Embedding(vocab, width)
        self.wpe = PositionTable(context, width)
        self.blocks = nn.ModuleList(
            TransformerBlock(width, heads, hidden, causal=True) for _ in range(layers))
        self.ln_f = nn.LayerNorm(width)
        self.head = nn.Linear(width, vocab)

    def forward(self, tokens):
        x = self.wpe(self.wte(tokens))
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))


def random_windows(ids, batch, context, random):
    """src/data/text.ts's randomWindows: starts floor(u * (len - context)), labels shifted by one."""
    starts = [int(random() * (len(ids) - context)) for _ in range(batch)]
    tokens = torch.stack([ids[s:s + context] for s in starts])
    labels = torch.stack([ids[s + 1:s + context + 1] for s in starts])
    return tokens, labels


def consecutive_windows(ids, batch, context):
    """src/data/text.ts's consecutiveWindows: starts 0, context, ...; full batches only."""
    windows = (len(ids) - 1) // context
    for k in range(windows // batch):
        starts = [(k * batch + b) * context for b in range(batch)]
        yield (torch.stack([ids[s:s + context] for s in starts]),
               torch.stack([ids[s + 1:s + context + 1] for s in starts]))


def loss_of(net, tokens, labels):
    logits = net(tokens)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--text', default=os.path.join(ROOT, 'texts', 'genesis.txt'))
    ap.add_argument('--steps', type=int, default=600)
    ap.add_argument('--batch', type=int, default=32)
    ap.add_argument('--context', type=int, default=64)
    ap.add_argument('--width', type=int, default=64)
    ap.add_argument('--heads', type=int, default=4)
    ap.add_argument('--layers', type=int, default=2)
    ap.add_argument('--lr', type=float, default=3e-3)
    ap.add_argument('--eval-every', type=int, default=100)
    ap.add_argument('--seed', type=int, default=1)
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--write-init', metavar='FILE', help='write the initial weights and stop')
    ap.add_argument('--init', metavar='FILE', help='start from these weights (safetensors)')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)

    with open(a.text, encoding='utf-8') as f:
        text = f.read()
    chars = sorted(set(text))
    index = {c: i for i, c in enumerate(chars)}
    ids = torch.tensor([index[c] for c in text], dtype=torch.long)
    cut = int(len(ids) * 0.9)  # splitIds: floor(n * (1 - 0.1))
    train, held = ids[:cut], ids[cut:]

    net = Gpt(len(chars), a.context, a.width, a.heads, a.layers, 4 * a.width)
    if a.write_init:
        write_safetensors(a.write_init, net.state_dict())
        print(f'wrote {a.write_init}')
        return
    if a.init:
        net.load_state_dict(read_safetensors(a.init), strict=True)
    optimizer = torch.optim.AdamW(net.parameters(), lr=a.lr, weight_decay=0.01)
    random = mulberry32(a.seed)
    print(f'text: {a.text}, {len(text)} characters, vocabulary {len(chars)}; '
          f'{len(train)} train / {len(held)} validation')
    started = time.time()
    for step in range(1, a.steps + 1):
        net.train()
        tokens, labels = random_windows(train, a.batch, a.context, random)
        loss = loss_of(net, tokens, labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % a.eval_every and step != a.steps:
            continue
        net.eval()
        with torch.no_grad():
            validation = loss_of(net, *random_windows(held, a.batch, a.context, random)).item()
        rate = step * a.batch * a.context / (time.time() - started)
        print(f'step {step}/{a.steps}: train loss {loss.item():.4f}, '
              f'validation loss {validation:.4f}, {rate:.0f} tokens/s', flush=True)
    net.eval()
    with torch.no_grad():
        losses = [loss_of(net, t, l).item() for t, l in consecutive_windows(held, a.batch, a.context)]
    whole = sum(losses) / len(losses)
    print(f'validation loss over all {len(losses) * a.batch} windows of the validation part: {whole:.4f}')
    print(json.dumps({'validationLoss': whole, 'trainLoss': loss.item(), 'steps': a.steps,
                      'seconds': time.time() - started}))


if __name__ == '__main__':
    main()
