#!/usr/bin/python3
"""PyTorch's optimizer utilities on two small tensors, as the golden for shadergrad's optimizer.

Two float32 parameters, a [3, 4] weight and a [4] bias with fixed values, take 6 optimizer steps
with fixed per-step gradients (written as the .grad before each step, as a backward pass would),
in three cases, each with the shadergrad OptimizerConfig that should reproduce it:

  adamwWarmupCosineClip  AdamW(lr 0.01, weight_decay 0.05); LambdaLR with 2 steps of linear
                         warm-up, then a cosine from 0.01 to 0.001 over the remaining 4 steps;
                         clip_grad_norm_(0.5) before every step (the gradients' norms straddle it)
  nesterovStep           SGD(lr 0.1, momentum 0.9, nesterov, weight_decay 5e-4); StepLR(2, 0.5)
  adamwNoBiasDecay       AdamW(lr 0.01) with two param groups: the weight with the default decay
                         (0.01), the bias with none

After every step the JSON holds the learning rate the step used, the gradient norm
clip_grad_norm_ returned (clipping case) and both parameters.

  /usr/bin/python3 tests/golden/optimizers.py   (Debian's python3-torch; writes optimizers.json)
  npx prettier --write tests/golden/optimizers.json   (the repository's JSON format)
"""
import json
import math
import os

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
STEPS = 6
# Gradient scale per step: the clipping case sees norms from ~0.04 to ~8 around max_norm 0.5.
SCALES = [3.0, 0.05, 1.0, 0.02, 2.5, 0.1]


def initial():
    weight = torch.tensor([[((7 * i) % 11) / 11 - 0.5 for i in range(4 * r, 4 * r + 4)]
                           for r in range(3)], dtype=torch.float32)
    bias = torch.tensor([0.1, -0.2, 0.3, -0.05], dtype=torch.float32)
    return weight, bias


def gradients(step):
    s = SCALES[step]
    w = torch.tensor([[s * math.sin(1.3 * (4 * r + c) + step) for c in range(4)] for r in range(3)],
                     dtype=torch.float32)
    b = torch.tensor([s * math.cos(0.7 * c + 2 * step) for c in range(4)], dtype=torch.float32)
    return w, b


def warmup_cosine(warmup, total, lr, min_lr):
    """lr_t / lr at update i + 1 (LambdaLR's last_epoch is i), shadergrad's learningRateAt."""
    def factor(i):
        if i < warmup:
            return (i + 1) / warmup
        j, t = i - warmup, total - warmup
        return (min_lr + (lr - min_lr) * (1 + math.cos(math.pi * min(j, t) / t)) / 2) / lr
    return factor


def run(make, clip=None):
    weight, bias = (torch.nn.Parameter(t) for t in initial())
    optimizer, scheduler = make(weight, bias)
    steps = []
    for k in range(STEPS):
        weight.grad, bias.grad = gradients(k)
        norm = None
        if clip is not None:
            norm = float(torch.nn.utils.clip_grad_norm_([weight, bias], clip))
        lrs = [g['lr'] for g in optimizer.param_groups]
        optimizer.step()
        scheduler.step()
        row = {'lr': lrs[0], 'weight': weight.detach().flatten().tolist(),
               'bias': bias.detach().tolist()}
        if norm is not None:
            row['norm'] = norm
        steps.append(row)
    return steps


def adamw_cosine(weight, bias):
    opt = torch.optim.AdamW([weight, bias], lr=0.01, weight_decay=0.05)
    return opt, torch.optim.lr_scheduler.LambdaLR(opt, warmup_cosine(2, 6, 0.01, 0.001))


def nesterov_step(weight, bias):
    opt = torch.optim.SGD([weight, bias], lr=0.1, momentum=0.9, nesterov=True, weight_decay=5e-4)
    return opt, torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)


def adamw_groups(weight, bias):
    opt = torch.optim.AdamW([{'params': [weight]}, {'params': [bias], 'weight_decay': 0.0}],
                            lr=0.01)
    return opt, torch.optim.lr_scheduler.LambdaLR(opt, lambda i: 1.0)


def main():
    weight, bias = initial()
    cases = [
        {'name': 'adamwWarmupCosineClip',
         'config': {'kind': 'adamw', 'lr': 0.01, 'weightDecay': 0.05, 'warmupSteps': 2,
                    'schedule': {'kind': 'cosine', 'totalSteps': 6, 'minLr': 0.001},
                    'clipGradNorm': 0.5},
         'steps': run(adamw_cosine, clip=0.5)},
        {'name': 'nesterovStep',
         'config': {'kind': 'momentum', 'lr': 0.1, 'momentum': 0.9, 'nesterov': True,
                    'weightDecay': 5e-4, 'schedule': {'kind': 'step', 'stepSize': 2, 'gamma': 0.5}},
         'steps': run(nesterov_step)},
        {'name': 'adamwNoBiasDecay',
         'config': {'kind': 'adamw', 'lr': 0.01, 'decayBiasAndNorm': False},
         'steps': run(adamw_groups)},
    ]
    out = {
        'torch': torch.__version__,
        'weight': weight.flatten().tolist(),
        'bias': bias.tolist(),
        'grads': [[g.flatten().tolist() for g in gradients(k)] for k in range(STEPS)],
        'cases': cases,
    }
    with open(os.path.join(HERE, 'optimizers.json'), 'w') as f:
        json.dump(out, f, indent=1)
        f.write('\n')


if __name__ == '__main__':
    main()
