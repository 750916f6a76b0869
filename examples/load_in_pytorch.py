"""Load shadergrad's model.safetensors into the equivalent PyTorch module.

Run examples/pytorchSafetensors.ts first; it writes DIR/model.safetensors (the reference CNN)
and DIR/check.safetensors (16 MNIST test images and the probabilities shadergrad gave them):

    python examples/load_in_pytorch.py runs/safetensors-example

Needs `torch` and `safetensors` (pip). The project's tests do not run this file (there is no
Python in them); it documents the format: the parameter names are the module's attribute names,
weights are laid out as torch lays them out (conv [out, in, kH, kW], linear [out, in]), and the
flatten before fc1 is torch.flatten's C, H, W order, so load_state_dict(strict=True) accepts the
file as it is.
"""

import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch import nn


class ReferenceCnn(nn.Module):
    """conv 5x5x32 'same' ReLU, max-pool 2, conv 5x5x64 'same' ReLU, max-pool 2, dense 1024 ReLU, dense 10."""

    def __init__(self) -> None:
        super().__init__()
        # 'same' for a 5x5 kernel at stride 1 pads 2 on every side.
        self.conv1 = nn.Conv2d(1, 32, kernel_size=5, padding=2)
        self.conv2 = nn.Conv2d(32, 64, kernel_size=5, padding=2)
        self.fc1 = nn.Linear(64 * 7 * 7, 1024)
        self.fc2 = nn.Linear(1024, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        x = F.relu(self.fc1(x))
        return self.fc2(x)  # logits; softmax cross-entropy is the loss


def main(folder: Path) -> None:
    model = ReferenceCnn()
    model.load_state_dict(load_file(folder / "model.safetensors"))  # strict: every name and shape
    model.eval()

    check = load_file(folder / "check.safetensors")
    with torch.no_grad():
        probabilities = F.softmax(model(check["images"]), dim=1)
    difference = (probabilities - check["probabilities"]).abs().max().item()
    print(f"max |torch - shadergrad| over {len(probabilities)} images: {difference:.2e}")
    # float32 sums in a different order differ in the last bits, nothing more.
    assert difference < 1e-4, "the loaded model does not reproduce shadergrad's predictions"
    print("predicted digits:", probabilities.argmax(dim=1).tolist())


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "runs/safetensors-example"))
