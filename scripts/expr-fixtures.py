#!/usr/bin/env python3
"""Write the PyTorch reference values and gradients of the formula language's test.

The module crates/actfn-activations/src/expr/ parses formulas of `x`, evaluates them in f32
and f64 and differentiates them symbolically. This script pairs each formula of a hand-written
table with the same function written by hand in PyTorch (or with PyTorch's own module for the
built-in activations), evaluates it at fixed points in float32 and float64, takes the gradient
with autograd (`y.sum().backward()` on a leaf tensor of that dtype), and writes everything to
crates/actfn-activations/tests/fixtures/expressions.json, which is committed. The test
crates/actfn-activations/tests/expressions.rs reads that file; nothing runs Python at test time.

Run it from the repository root, in a throwaway virtual environment:

    python3 -m venv /tmp/v && /tmp/v/bin/pip install torch numpy \
        && /tmp/v/bin/python scripts/expr-fixtures.py

Rerun it only when a formula or a point is added or changed; review the diff of the JSON like
code. Every number is written with Python's `repr(float)` (the shortest decimal that reads back
to the same double); float32 inputs, values and gradients are the exact float32 numbers, widened
to double.

Points: 0, +-1e-30, +-0.5, +-1, +-3, +-10, +-20, +-50, +-88 (float32) or +-700 (float64), the
formula's kinks (where an argument of max, min, where_pos, relu or abs is 0), and 8 pseudo-random
points in [-6, 6] (numpy's RandomState(20261203)). Points where PyTorch's value or gradient is
not finite (an overflow, a NaN) are left out, and each entry lists them under "skipped"; with
the table below (every formula chosen to stay finite up to +-88 / +-700) none is.

Each entry: formula, torch (the Python written next to it, for the reader), dtype, x, y, dy,
skipped, and for a built-in activation spelled out, "builtin": the formula calling it by name.
It also checks actfn's own PyTorch translation of each formula (what a sweep's `--peer` runs):
`xtask formula --json` prints it (the binary is $ACTFN_XTASK, default target/release/xtask: build
it first), xtask/pytorch/study.py's Formula evaluates it, and the entry records it as
"translation" with its values and gradients at the same points as "translation_y" and
"translation_dy"; the Rust test checks that the translation is still the same text and that its
values agree with the hand-written ones.
"""

import json
import math
import os
import subprocess
import sys

import numpy as np
import torch
import torch.nn.functional as F

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(ROOT, "xtask", "pytorch"))
import study  # noqa: E402  (xtask/pytorch/study.py, the peers' module)

XTASK = os.environ.get("ACTFN_XTASK", os.path.join(ROOT, "target", "release", "xtask"))

OUT = os.path.join(
    os.path.dirname(os.path.abspath(__file__)),
    "..",
    "crates",
    "actfn-activations",
    "tests",
    "fixtures",
    "expressions.json",
)


def c(v, like):
    """A constant tensor of `like`'s dtype, for torch.maximum/minimum."""
    return torch.tensor(v, dtype=like.dtype)


def step(x):
    """Heaviside with step(0) = 0; PyTorch has no backward for heaviside, and a comparison
    is a constant to autograd: the derivative is 0, the language's."""
    return (x > 0).to(x.dtype)


# (formula, torch function, its source for the reader, kinks, builtin name formula or None)
# Primitives and operations; together they use every function and operator of the language.
TABLE = [
    ("x * sigmoid(1.702 * x)", lambda x: x * torch.sigmoid(1.702 * x),
     "x * torch.sigmoid(1.702 * x)", [], None),
    ("max(x, 0.1 * x)", lambda x: torch.maximum(x, 0.1 * x),
     "torch.maximum(x, 0.1 * x)", [0.0], None),
    ("x^3 - 2*x", lambda x: torch.pow(x, 3) - 2 * x,
     "torch.pow(x, 3) - 2 * x", [], None),
    ("min(max(x, -1), 1)", lambda x: torch.minimum(torch.maximum(x, c(-1.0, x)), c(1.0, x)),
     "torch.minimum(torch.maximum(x, -1), 1)", [-1.0, 1.0], None),
    ("where_pos(x - 1, x^2, 2*x - 1) + step(x) - sign(x)",
     lambda x: torch.where(x - 1 > 0, torch.pow(x, 2), 2 * x - 1) + step(x) - torch.sign(x),
     "torch.where(x - 1 > 0, torch.pow(x, 2), 2 * x - 1) + (x > 0).to(x.dtype) - torch.sign(x)",
     [1.0, 0.0], None),
    ("x / (1 + abs(x))", lambda x: x / (1 + torch.abs(x)),
     "x / (1 + torch.abs(x))", [0.0], None),
    ("log(1 + x^2) + log1p(abs(x))",
     lambda x: torch.log(1 + torch.pow(x, 2)) + torch.log1p(torch.abs(x)),
     "torch.log(1 + torch.pow(x, 2)) + torch.log1p(torch.abs(x))", [0.0], None),
    ("sqrt(x^2 + 1) - 1", lambda x: torch.sqrt(torch.pow(x, 2) + 1) - 1,
     "torch.sqrt(torch.pow(x, 2) + 1) - 1", [], None),
    ("sin(x) * cos(2 * x) + neg(x)", lambda x: torch.sin(x) * torch.cos(2 * x) + torch.neg(x),
     "torch.sin(x) * torch.cos(2 * x) + torch.neg(x)", [], None),
    ("exp(-abs(x)) + expm1(min(x, 0))",
     lambda x: torch.exp(-torch.abs(x)) + torch.expm1(torch.minimum(x, c(0.0, x))),
     "torch.exp(-torch.abs(x)) + torch.expm1(torch.minimum(x, 0))", [0.0], None),
    ("relu(x) - 0.5 * relu(x - 2)", lambda x: torch.relu(x) - 0.5 * torch.relu(x - 2),
     "torch.relu(x) - 0.5 * torch.relu(x - 2)", [0.0, 2.0], None),
    ("(x^2 + 1)^1.5 / 100", lambda x: torch.pow(torch.pow(x, 2) + 1, 1.5) / 100,
     "torch.pow(torch.pow(x, 2) + 1, 1.5) / 100", [], None),
    ("tanh(x) * erf(x) + softplus(-x)",
     lambda x: torch.tanh(x) * torch.erf(x) + F.softplus(-x),
     "torch.tanh(x) * torch.erf(x) + F.softplus(-x)", [], None),
    # Primitives by name, against PyTorch's modules.
    ("sigmoid(x)", torch.sigmoid, "torch.sigmoid", [], None),
    ("tanh(x)", torch.tanh, "torch.tanh", [], None),
    ("relu(x)", torch.relu, "torch.relu", [0.0], None),
    ("softplus(x)", F.softplus, "F.softplus", [], None),
    ("abs(x)", torch.abs, "torch.abs", [0.0], None),
    ("erf(x)", torch.erf, "torch.erf", [], None),
    # The built-ins by name, then spelled out, against PyTorch's modules.
    ("leakyrelu(x)", lambda x: F.leaky_relu(x, 0.1), "F.leaky_relu(x, 0.1)", [0.0], None),
    ("where_pos(x, x, 0.1 * x)", lambda x: F.leaky_relu(x, 0.1), "F.leaky_relu(x, 0.1)",
     [0.0], "leakyrelu(x)"),
    ("elu(x)", F.elu, "F.elu", [0.0], None),
    ("where_pos(x, x, expm1(x))", F.elu, "F.elu", [0.0], "elu(x)"),
    ("selu(x)", F.selu, "F.selu", [0.0], None),
    ("1.0507009873554805 * where_pos(x, x, 1.6732632423543772 * expm1(x))", F.selu, "F.selu",
     [0.0], "selu(x)"),
    ("swish(x)", F.silu, "F.silu", [], None),
    ("x * sigmoid(x)", F.silu, "F.silu", [], "swish(x)"),
    ("gelu(x)", F.gelu, "F.gelu", [], None),
    ("0.5 * x * (1 + erf(x / sqrt(2)))", F.gelu, "F.gelu", [], "gelu(x)"),
    ("0.5 * x * (1 + erf(0.7071067811865476 * x))", F.gelu, "F.gelu", [], "gelu(x)"),
    ("gelu_tanh(x)", lambda x: F.gelu(x, approximate="tanh"),
     'F.gelu(x, approximate="tanh")', [], None),
    ("0.5 * x * (1 + tanh(0.7978845608028654 * (x + 0.044715 * x^3)))",
     lambda x: F.gelu(x, approximate="tanh"), 'F.gelu(x, approximate="tanh")', [],
     "gelu_tanh(x)"),
    ("mish(x)", F.mish, "F.mish", [], None),
    ("x * tanh(softplus(x))", F.mish, "F.mish", [], "mish(x)"),
    ("hardswish(x)", F.hardswish, "F.hardswish", [-3.0, 3.0], None),
    ("where_pos(x + 3, where_pos(3 - x, x * ((x + 3) / 6), x), 0)", F.hardswish,
     "F.hardswish", [-3.0, 3.0], "hardswish(x)"),
]

BIG = {"float32": 88.0, "float64": 700.0}
DTYPES = {"float32": torch.float32, "float64": torch.float64}


def points(dtype_name, kinks):
    base = [0.0, 1e-30, 0.5, 1.0, 3.0, 10.0, 20.0, 50.0, BIG[dtype_name]]
    xs = [0.0] + [s * v for v in base[1:] for s in (-1.0, 1.0)]
    xs += kinks
    xs += list(np.random.RandomState(20261203).uniform(-6.0, 6.0, 8))
    out = []
    for v in xs:
        v = float(v)
        if dtype_name == "float32":
            v = float(np.float32(v))
        if v not in out:
            out.append(v)
    return sorted(out)


def value_and_gradient(fn, v, dtype):
    """fn at the one point v and its gradient there by autograd (one point at a time: a
    non-finite gradient at one point cannot touch the others)."""
    x = torch.tensor([v], dtype=dtype, requires_grad=True)
    y = fn(x)
    assert y.dtype == dtype, y.dtype
    y.sum().backward()
    return float(y.detach()[0]), float(x.grad[0])


def translation(formula):
    """actfn's PyTorch translation of the formula."""
    out = subprocess.run([XTASK, "formula", "--json", formula], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)["torch"]


def entry(formula, fn, source, kinks, builtin, dtype_name):
    dtype = DTYPES[dtype_name]
    translated = translation(formula)
    module = study.Formula(translated)
    xs, ys, dys, tys, tdys, skipped = [], [], [], [], [], []
    for v in points(dtype_name, kinks):
        yv, dv = value_and_gradient(fn, v, dtype)
        if not (math.isfinite(yv) and math.isfinite(dv)):
            skipped.append(v)
            continue
        tyv, tdv = value_and_gradient(module, v, dtype)
        xs.append(v)
        ys.append(yv)
        dys.append(dv)
        tys.append(tyv)
        tdys.append(tdv)
    e = {
        "formula": formula,
        "torch": source,
        "dtype": dtype_name,
        "x": xs,
        "y": ys,
        "dy": dys,
        "skipped": skipped,
        "translation": translated,
        "translation_y": tys,
        "translation_dy": tdys,
    }
    if builtin is not None:
        e["builtin"] = builtin
    return e


def main():
    torch.set_num_threads(1)
    entries = [
        entry(f, fn, src, kinks, builtin, d)
        for (f, fn, src, kinks, builtin) in TABLE
        for d in ("float32", "float64")
    ]
    doc = {
        "generator": "scripts/expr-fixtures.py",
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": sys.version.split()[0],
        "entries": entries,
    }
    with open(OUT, "w") as f:
        f.write("{\n")
        head = [k for k in doc if k != "entries"]
        for k in head:
            f.write(f"  {json.dumps(k)}: {json.dumps(doc[k])},\n")
        f.write('  "entries": [\n')
        f.write(",\n".join("    " + json.dumps(e) for e in entries))
        f.write("\n  ]\n}\n")
    for e in entries:
        if e["skipped"]:
            print(f"{e['formula']} [{e['dtype']}]: skipped non-finite at {e['skipped']}")
    print(f"wrote {len(entries)} entries to {os.path.normpath(OUT)}")


if __name__ == "__main__":
    main()
