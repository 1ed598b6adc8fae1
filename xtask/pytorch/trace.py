"""The study's training in PyTorch, step by step, from actfn's initial weights and batch order:
the fixtures of actfn's trace tests (`tests/tests/pytorch_trace.rs`).

Input: the file `cargo xtask trace-inputs` writes (actfn's initial weights, the split's indices,
each epoch's batch order and the optimizer). Output, in --out: `trace.json` (the loss before
every step, the validation accuracy after the last epoch, checks of the inputs) and
`final_weights.safetensors`.

    cargo xtask trace-inputs --out /tmp/trace
    python xtask/pytorch/trace.py --inputs /tmp/trace/trace_inputs.safetensors \\
        --data /usr/share/datasets/fashion-mnist --out tests/fixtures/pytorch_trace
    cargo xtask trace-inputs --out /tmp/adam --optimizer adam --epochs 2
    python xtask/pytorch/trace.py --inputs /tmp/adam/trace_inputs.safetensors \\
        --data /usr/share/datasets/fashion-mnist --out tests/fixtures/pytorch_trace_adam
"""

import argparse
import json
import os

import numpy as np
import torch
import torch.nn as nn

import study


def read_optimizer(metadata):
    """The optimizer's settings as actfn writes them (SGD's plain, Adam's under "adam"); inputs
    written before the optimizer was recorded name SGD's lr and momentum."""
    if "optimizer" in metadata:
        return json.loads(metadata["optimizer"])
    return {"lr": float(metadata["lr"]), "momentum": float(metadata["momentum"]),
            "dampening": 0.0, "weight_decay": 0.0, "nesterov": False}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--inputs", required=True)
    parser.add_argument("--data", required=True, help="folder with the four Fashion-MNIST files")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    torch.set_num_threads(1)

    tensors, metadata = study.read_safetensors(args.inputs)
    x_all, y_all, _, _ = study.load_fashion_mnist(args.data)
    train_idx = torch.from_numpy(tensors["train_indices"].astype(np.int64))
    val_idx = torch.from_numpy(tensors["val_indices"].astype(np.int64))
    order = torch.from_numpy(tensors["batch_order"].astype(np.int64))
    batch_size = int(metadata["batch_size"])
    x_train, y_train = x_all[train_idx], y_all[train_idx]
    x_val, y_val = x_all[val_idx], y_all[val_idx]

    net = study.BaseNetwork(study.ReLU())
    state = {name: torch.from_numpy(tensors[f"init.{name}"].copy()) for name in net.state_dict()}
    net.load_state_dict(state)
    settings = read_optimizer(metadata)
    optimizer = study.make_optimizer(net, settings)
    loss_module = nn.CrossEntropyLoss()

    net.train()
    losses = []
    steps = len(order) // batch_size
    for step in range(steps):
        idx = order[step * batch_size : (step + 1) * batch_size]
        optimizer.zero_grad()
        loss = loss_module(net(x_train[idx]), y_train[idx])
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    val_acc = study.accuracy(net, x_val, y_val)

    os.makedirs(args.out, exist_ok=True)
    final = {name: t.detach().numpy() for name, t in net.state_dict().items()}
    study.write_safetensors(os.path.join(args.out, "final_weights.safetensors"), final)
    record = {
        "torch": torch.__version__,
        "seed": int(metadata["seed"]),
        "split_seed": int(metadata["split_seed"]),
        "batch_size": batch_size,
        "epochs": int(metadata.get("epochs", 1)),
        "optimizer": settings,
        "train_images": len(train_idx),
        "val_images": len(val_idx),
        "steps": steps,
        # What PyTorch started from, to tell an input that differs from an arithmetic that does.
        "init_sums": {name: float(t.double().sum()) for name, t in state.items()},
        "first_batch": order[:batch_size].tolist(),
        "losses": losses,
        "val_acc": val_acc,
    }
    with open(os.path.join(args.out, "trace.json"), "w") as f:
        json.dump(record, f, indent=1)
        f.write("\n")
    print(f"{steps} steps, last loss {losses[-1]:.6f}, validation accuracy {val_acc:.4f}")


if __name__ == "__main__":
    main()
