"""Loads a twostage checkpoint into the reference script's TwoStageNetwork and prints its test accuracy.

Not part of `cargo test` (it needs PyTorch): run by hand to check that checkpoints load in PyTorch.
    python3 tests/python/load_in_pytorch.py model.safetensors ../shared/mnist
"""
import gzip, os, sys
import numpy as np, torch, torch.nn as nn
from safetensors.torch import load_file

class TwoStageNetwork(nn.Module):  # the reference script's module, names and all
    def __init__(self):
        super().__init__()
        self.stage1 = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128))
        self.stage2 = nn.Sequential(nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))
        self.decoder = nn.Sequential(nn.Linear(128, 256), nn.ReLU(), nn.Linear(256, 784))
    def forward(self, x):
        return self.stage2(self.stage1(x))

def idx(path):
    raw = gzip.open(path).read() if open(path, 'rb').read(2) == b'\x1f\x8b' else open(path, 'rb').read()
    nd = raw[3]; dims = np.frombuffer(raw[4:4 + 4 * nd], '>u4').astype(int)
    return np.frombuffer(raw[4 + 4 * nd:], np.uint8).reshape(dims)

checkpoint, data = sys.argv[1], sys.argv[2]
model = TwoStageNetwork()
result = model.load_state_dict(load_file(checkpoint), strict=False)
print(f"missing keys: {result.missing_keys}, unexpected keys: {result.unexpected_keys}")
x = torch.from_numpy(idx(os.path.join(data, 't10k-images-idx3-ubyte.gz')).reshape(-1, 784).copy()).float().div(255).sub(0.5).div(0.5)
y = torch.from_numpy(idx(os.path.join(data, 't10k-labels-idx1-ubyte.gz')).astype(np.int64))
with torch.no_grad():
    accuracy = (model(x).argmax(1) == y).float().mean().item()
print(f"PyTorch test accuracy: {100 * accuracy:.2f}%")
