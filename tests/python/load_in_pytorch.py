"""Loads a twostage checkpoint into the reference script's TwoStageNetwork and prints its test accuracy.

Not part of `cargo test` (it needs PyTorch): run by hand to check that checkpoints load in PyTorch.
    python3 tests/python/load_in_pytorch.py model.safetensors ../shared/mnist
The number of classes is read from the checkpoint (`stage2.2.weight` is (C, 64)), so a model of a
custom IDX set loads too, e.g. the 26-class set of tests/datasets.rs:
    TWOSTAGE_KEEP_CHECKPOINT=/tmp/letters.safetensors cargo test --test datasets 26_class
    python3 tests/python/load_in_pytorch.py /tmp/letters.safetensors
With no data directory, only the load and the head are checked.
"""
import gzip, os, sys
import numpy as np, torch, torch.nn as nn
from safetensors import safe_open
from safetensors.torch import load_file

class TwoStageNetwork(nn.Module):  # the reference script's module, names and all
    def __init__(self, classes=10):
        super().__init__()
        self.stage1 = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 128))
        self.stage2 = nn.Sequential(nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, classes))
        self.decoder = nn.Sequential(nn.Linear(128, 256), nn.ReLU(), nn.Linear(256, 784))
    def forward(self, x):
        return self.stage2(self.stage1(x))

def idx(path):
    if not os.path.exists(path) and path.endswith('.gz'):
        path = path[:-3]
    raw = gzip.open(path).read() if open(path, 'rb').read(2) == b'\x1f\x8b' else open(path, 'rb').read()
    nd = raw[3]; dims = np.frombuffer(raw[4:4 + 4 * nd], '>u4').astype(int)
    return np.frombuffer(raw[4 + 4 * nd:], np.uint8).reshape(dims)

checkpoint = sys.argv[1]
data = sys.argv[2] if len(sys.argv) > 2 else None
state = load_file(checkpoint)
classes = state['stage2.2.weight'].shape[0]
with safe_open(checkpoint, 'pt') as f:
    print(f"metadata: {f.metadata()}")
model = TwoStageNetwork(classes)
result = model.load_state_dict(state, strict=False)
print(f"missing keys: {result.missing_keys}, unexpected keys: {result.unexpected_keys}")
print(f"head: {model.stage2[2]}")
if data is not None:
    x = torch.from_numpy(idx(os.path.join(data, 't10k-images-idx3-ubyte.gz')).reshape(-1, 784).copy()).float().div(255).sub(0.5).div(0.5)
    y = torch.from_numpy(idx(os.path.join(data, 't10k-labels-idx1-ubyte.gz')).astype(np.int64))
    with torch.no_grad():
        accuracy = (model(x).argmax(1) == y).float().mean().item()
    print(f"PyTorch test accuracy: {100 * accuracy:.2f}%")
