"""Each built-in activation function's value and gradient by PyTorch, on a fixed grid, in float32
and float64: the fixture of actfn's activation tests (tests/fixtures/activations.json).

    python xtask/pytorch/activations.py --out tests/fixtures/activations.json

The functions are PyTorch's own (torch.nn.functional), with the study's parameters where it sets
them (LeakyReLU's slope 0.1) and PyTorch's defaults otherwise (PReLU's slope 0.25, Softplus's beta
1 and threshold 20). The gradient is d sum(f(x)) / dx by autograd.

Per function: `f32` (PyTorch in float32 on the float32 grid), `f64` (in float64 on the float64
grid) and `f32_exact` (in float64 on the float32 grid: the reference a float32 result is held to,
since PyTorch's own float32 results lose precision in places, e.g. GELU's tail).
"""

import argparse
import json
import math
import os

import torch
import torch.nn.functional as F

FUNCTIONS = {
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "relu": F.relu,
    "leakyrelu": lambda x: F.leaky_relu(x, 0.1),
    "elu": F.elu,
    "swish": F.silu,
    "gelu": F.gelu,
    "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
    "mish": F.mish,
    "selu": F.selu,
    "softplus": F.softplus,
    "prelu": lambda x: F.prelu(x, torch.full((1,), 0.25, dtype=x.dtype)),
    "hardswish": F.hardswish,
}


def grid():
    """Special points (0, tiny, the functions' corners, where exponentials overflow, huge, a
    subnormal float32) and a dense range, each with both signs."""
    special = [0.0, 1e-40, 1e-30, 1e-3, 0.5, 1.0, 2.9, 3.0, 3.1, 19.9, 20.0, 20.1, 30.0, 88.0, 88.7, 100.0, 1e4]
    dense = [round(-10.0 + 0.05 * i, 10) for i in range(401)]
    points = set(dense)
    for x in special:
        points.add(x)
        points.add(-x)
    return sorted(points)


def evaluate(name, xs, dtype):
    x = torch.tensor(xs, dtype=dtype, requires_grad=True)
    y = FUNCTIONS[name](x)
    (grad,) = torch.autograd.grad(y.sum(), x)
    values, grads = y.detach().tolist(), grad.tolist()
    for v in values + grads:
        assert math.isfinite(v), f"{name} {dtype}: {v}"
    return {"value": values, "grad": grads}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    xs = grid()
    # The float32 grid is the float64 grid rounded; record what float32 actually evaluated.
    xs32 = torch.tensor(xs, dtype=torch.float32).tolist()
    fixture = {
        "torch": torch.__version__,
        "grid_f64": xs,
        "grid_f32": xs32,
        "functions": {
            name: {
                "f32": evaluate(name, xs32, torch.float32),
                "f32_exact": evaluate(name, xs32, torch.float64),
                "f64": evaluate(name, xs, torch.float64),
            }
            for name in FUNCTIONS
        },
    }
    temp = args.out + ".tmp"
    with open(temp, "w") as f:
        json.dump(fixture, f, allow_nan=False, separators=(",", ":"))
        f.write("\n")
    os.replace(temp, args.out)
    print(f"{len(FUNCTIONS)} functions on {len(xs)} points: {args.out}")


if __name__ == "__main__":
    main()
