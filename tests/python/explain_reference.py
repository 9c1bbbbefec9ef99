"""PyTorch's numbers for `twostage explain`'s default tiny network, to check the explanation
independently (tests/explain.rs reads the file this writes).

Run:  ../torchenv/bin/python tests/python/explain_reference.py > tests/golden/explain_torch.txt
Each line: `<loss>.<optimizer>.<name> v1 v2 ...` (row-major), in float64.
"""
import torch

torch.set_default_dtype(torch.float64)
W1 = [[0.2, -0.1, -0.4], [0.3, 0.5, 0.1], [0.6, 0.2, -0.5], [-0.2, -0.4, 0.3]]
b1 = [0.1, 0.0, -0.1, 0.2]
W2 = [[0.3, -0.6, 0.2, 0.5], [-0.4, 0.1, 0.7, -0.3]]
b2 = [0.05, -0.05]
x = torch.tensor([[1.0, 0.5, -1.0]], requires_grad=True)
y = torch.tensor([1])
t = torch.tensor([[0.5, -0.5]])


def line(name, tensor):
    values = " ".join(repr(float(v)) for v in tensor.detach().reshape(-1))
    print(f"{name} {values}")


for loss_name in ["ce", "mse"]:
    for opt_name in ["adam", "sgd"]:
        net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
        with torch.no_grad():
            net[0].weight.copy_(torch.tensor(W1)); net[0].bias.copy_(torch.tensor(b1))
            net[2].weight.copy_(torch.tensor(W2)); net[2].bias.copy_(torch.tensor(b2))
        if x.grad is not None:
            x.grad = None
        z1 = net[0](x); z1.retain_grad()
        h = net[1](z1); h.retain_grad()
        z2 = net[2](h); z2.retain_grad()
        if loss_name == "ce":
            loss = torch.nn.functional.cross_entropy(z2, y)
            p = torch.softmax(z2, dim=1)
        else:
            loss = torch.nn.functional.mse_loss(z2, t)
        loss.backward()
        k = f"{loss_name}.{opt_name}."
        line(k + "z1", z1); line(k + "h", h); line(k + "z2", z2)
        if loss_name == "ce":
            line(k + "p", p)
        line(k + "L", loss)
        line(k + "dz2", z2.grad); line(k + "dW2", net[2].weight.grad); line(k + "db2", net[2].bias.grad)
        line(k + "dh", h.grad); line(k + "dz1", z1.grad)
        line(k + "dW1", net[0].weight.grad); line(k + "db1", net[0].bias.grad); line(k + "dx", x.grad)
        if opt_name == "adam":
            opt = torch.optim.Adam(net.parameters(), lr=0.1)
        else:
            opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
        opt.step()
        line(k + "W1'", net[0].weight); line(k + "b1'", net[0].bias)
        line(k + "W2'", net[2].weight); line(k + "b2'", net[2].bias)
