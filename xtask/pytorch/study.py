"""The study's PyTorch code ("Activation Functions", UvA DL tutorial 3), as a module shared by
the project's PyTorch peers: the benchmark (bench.py), the step-by-step trace (trace.py) and the
sweep's peer runs (peer.py).

The network, the activation functions, the transforms and the training loop are the notebook's;
what differs is only where data and randomness come from, so that a peer can be fed exactly what
actfn uses: the IDX files are read here (no torchvision download), the train/validation split
can be given as index lists written by actfn, and tensors travel as safetensors files (read and
written here with the standard library and numpy, so no extra package is needed).
"""

import copy
import gzip
import json
import os
import struct

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

FILES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}


# The study's activation functions, as the notebook writes them.
class Sigmoid(nn.Module):
    def forward(self, x):
        return 1 / (1 + torch.exp(-x))


class Tanh(nn.Module):
    def forward(self, x):
        x_exp, neg_x_exp = torch.exp(x), torch.exp(-x)
        return (x_exp - neg_x_exp) / (x_exp + neg_x_exp)


class ReLU(nn.Module):
    def forward(self, x):
        return x * (x > 0).float()


class LeakyReLU(nn.Module):
    def __init__(self, alpha=0.1):
        super().__init__()
        self.alpha = alpha

    def forward(self, x):
        return torch.where(x > 0, x, self.alpha * x)


class ELU(nn.Module):
    def forward(self, x):
        return torch.where(x > 0, x, torch.exp(x) - 1)


class Swish(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(x)


# The study's six as it writes them; the others as PyTorch's modules, with the parameters actfn
# uses (GELU's tanh approximation, PReLU's one slope per layer from 0.25).
ACTIVATIONS = {
    "sigmoid": Sigmoid,
    "tanh": Tanh,
    "relu": ReLU,
    "leakyrelu": LeakyReLU,
    "elu": ELU,
    "swish": Swish,
    "gelu": nn.GELU,
    "gelu_tanh": lambda: nn.GELU(approximate="tanh"),
    "mish": nn.Mish,
    "selu": nn.SELU,
    "softplus": nn.Softplus,
    "prelu": nn.PReLU,
    "hardswish": nn.Hardswish,
}


class Formula(nn.Module):
    """A formula of x, as actfn translates it to PyTorch (`Expr::to_torch`: torch operations on
    the tensor `x`, with `torch` and `F` in scope): the same function, differentiated by PyTorch's
    autograd. The text comes from actfn's own printer (tasks.tsv); it is evaluated with nothing
    else in scope."""

    ALLOWED = set("abcdefghijklmnopqrstuvwxyzF_.0123456789+-*/() ,>")

    def __init__(self, torch_text):
        super().__init__()
        if not set(torch_text) <= self.ALLOWED:
            raise SystemExit(f"{torch_text!r}: not a formula actfn translated")
        self.text = torch_text
        self.code = compile(torch_text, "<formula>", "eval")

    def forward(self, x):
        y = eval(self.code, {"__builtins__": {}}, {"torch": torch, "F": F, "x": x})
        # A constant formula is a number: the same number at every element.
        return y if isinstance(y, torch.Tensor) else torch.full_like(x, y)


class BaseNetwork(nn.Module):
    def __init__(self, act_fn, input_size=784, num_classes=10, hidden_sizes=(512, 256, 256, 128)):
        super().__init__()
        layers = []
        layer_sizes = [input_size] + list(hidden_sizes)
        for a, b in zip(layer_sizes[:-1], layer_sizes[1:]):
            # The study passes one module for every layer; a module with parameters (PReLU) gets
            # a copy per layer, so that each layer learns its own.
            layer_act = copy.deepcopy(act_fn) if any(True for _ in act_fn.parameters()) else act_fn
            layers += [nn.Linear(a, b), layer_act]
        layers += [nn.Linear(layer_sizes[-1], num_classes)]
        self.layers = nn.Sequential(*layers)

    def forward(self, x):
        return self.layers(x.view(x.size(0), -1))


def initialize(net, init):
    """Redraws the linear layers' weights: `pytorch` keeps nn.Linear's default (the study's);
    `kaiming-normal` and `lecun-normal` draw normal weights of variance 2 / fan_in and 1 / fan_in,
    with zero biases, as actfn's --init does."""
    if init == "pytorch":
        return
    gain = {"kaiming-normal": 2.0, "lecun-normal": 1.0}[init]
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, nn.Linear):
                module.weight.normal_(0.0, (gain / module.in_features) ** 0.5)
                module.bias.zero_()


def make_optimizer(net, settings):
    """torch.optim's optimizer with actfn's settings."""
    if "adam" in settings:
        adam = settings["adam"]
        return torch.optim.Adam(net.parameters(), lr=adam["lr"], betas=tuple(adam["betas"]),
                          eps=adam["eps"], weight_decay=adam["weight_decay"])
    return torch.optim.SGD(net.parameters(), lr=settings["lr"], momentum=settings["momentum"],
                     dampening=settings["dampening"], weight_decay=settings["weight_decay"],
                     nesterov=settings["nesterov"])


def read_idx(path):
    """The array of an IDX file (gzip or not)."""
    if not os.path.exists(path):
        path += ".gz"
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = struct.unpack(">" + "I" * ndim, data[4 : 4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_fashion_mnist(folder):
    """The four arrays, images normalized as the study's transforms do: (x / 255 - 0.5) / 0.5."""
    arrays = {key: read_idx(os.path.join(folder, name)) for key, name in FILES.items()}
    normalize = lambda x: torch.from_numpy((x.astype(np.float32) / 255.0 - 0.5) / 0.5)  # noqa: E731
    return (
        normalize(arrays["train_images"]),
        torch.from_numpy(arrays["train_labels"].astype(np.int64)),
        normalize(arrays["test_images"]),
        torch.from_numpy(arrays["test_labels"].astype(np.int64)),
    )


DTYPES = {"F32": np.float32, "F64": np.float64, "U32": np.uint32, "I64": np.int64, "U8": np.uint8}


def read_safetensors(path):
    """The tensors of a safetensors file as numpy arrays, and its metadata."""
    with open(path, "rb") as f:
        data = f.read()
    (size,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + size])
    metadata = header.pop("__metadata__", {})
    body = data[8 + size :]
    tensors = {}
    for name, info in header.items():
        start, end = info["data_offsets"]
        tensors[name] = np.frombuffer(body[start:end], dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
    return tensors, metadata


def write_safetensors(path, tensors, metadata=None):
    """Writes numpy arrays as a safetensors file (little-endian, C order)."""
    names = {np.dtype(v): k for k, v in DTYPES.items()}
    header, offset, blobs = {}, 0, []
    for name, array in tensors.items():
        array = np.ascontiguousarray(array)
        blob = array.tobytes()
        header[name] = {"dtype": names[array.dtype], "shape": list(array.shape), "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs.append(blob)
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    temp = path + ".tmp"
    with open(temp, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))
    os.replace(temp, path)


def accuracy(net, images, labels, batch_size=1024):
    """The study's test_model on in-memory tensors, in order."""
    net.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(images), batch_size):
            correct += (net(images[i : i + batch_size]).argmax(dim=-1) == labels[i : i + batch_size]).sum().item()
    return correct / len(images)


def cross_entropy(preds, labels):
    return F.cross_entropy(preds, labels)
