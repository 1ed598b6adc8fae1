"""One run of a sweep with the study's PyTorch code: the peer of `cargo xtask sweep --peer`.

The same protocol as actfn's run of the same grid point: the split actfn uses (its indices, from
the file the sweep writes), the study's network and activation, SGD, batches of the training
split reshuffled every epoch with the last short batch dropped, early stopping on validation
accuracy with the given patience, the best epoch's weights on the test set. The seed goes to
`torch.manual_seed` before the network is built, as the study's `set_seed` does; batches are
drawn from in-memory tensors (the same draws as the study's DataLoader, without its per-image
transforms).

The run is read from the sweep folder as `cargo xtask sweep task` reads it: the protocol from
`sweep.json` (its template), the run's axes from its line of `tasks.tsv` (both written together
from the same settings), the split from `peer/split<SEED>.safetensors`. Writes one JSON object
(the fields of actfn's `PeerResult`) to `peer/<id>.json`, atomically.
"""

import argparse
import copy
import json
import os
import time

import numpy as np
import torch
import torch.nn as nn

import study


def read_run(sweep_dir, index):
    """The run `index` of the sweep in `sweep_dir`: its axes (tasks.tsv) and protocol (sweep.json)."""
    with open(os.path.join(sweep_dir, "sweep.json")) as f:
        settings = json.load(f)
    with open(os.path.join(sweep_dir, "tasks.tsv")) as f:
        header, *rows = [line.rstrip("\n").split("\t") for line in f if line.strip()]
    tasks = [dict(zip(header, row)) for row in rows]
    if not 0 <= index < len(tasks) or int(tasks[index]["index"]) != index:
        raise SystemExit(f"task index {index} is out of range: {sweep_dir} has {len(tasks)} runs")
    task = tasks[index]
    template = settings["template"]
    return argparse.Namespace(
        id=task["id"],
        act=task["act"],
        # A formula's PyTorch expression (tasks.tsv has the column since formulas; "-" or none
        # for a named function).
        torch=task.get("torch", "-"),
        seed=int(task["seed"]),
        split_seed=int(task["split_seed"]),
        hidden=task["hidden"],
        patience=int(task["patience"]),
        epochs=template["max_epochs"],
        # The run's optimizer (tasks.tsv names it since the optimizer axis; the template's before).
        optimizer=json.loads(task["optimizer"]) if "optimizer" in task else template["optimizer"],
        batch_size=template["batch_size"],
        subset=template["subset"],
        init=template.get("init", "pytorch"),
        threads=settings["threads"],
        split=os.path.join(sweep_dir, "peer", f"split{task['split_seed']}.safetensors"),
        out=os.path.join(sweep_dir, "peer", f"{task['id']}.json"),
    )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", required=True, help="the sweep folder")
    parser.add_argument("--index", type=int, required=True, help="the run's index in tasks.tsv")
    parser.add_argument("--data", required=True, help="folder with the four Fashion-MNIST files")
    given = parser.parse_args()
    args = read_run(given.dir, given.index)
    if args.torch == "-" and args.act not in study.ACTIVATIONS:
        raise SystemExit(f"{args.act}: the study's PyTorch code has no such activation")
    if args.init not in ("pytorch", "kaiming-normal", "lecun-normal"):
        raise SystemExit(f"{args.init}: an initialization peer.py does not know")
    torch.set_num_threads(args.threads)
    started = time.perf_counter()

    split, _ = study.read_safetensors(args.split)
    x_all, y_all, x_test, y_test = study.load_fashion_mnist(given.data)
    train_idx = torch.from_numpy(split["train_indices"].astype(np.int64))
    val_idx = torch.from_numpy(split["val_indices"].astype(np.int64))
    x_train, y_train = x_all[train_idx], y_all[train_idx]
    if args.subset is not None:
        x_train, y_train = x_train[: args.subset], y_train[: args.subset]
    x_val, y_val = x_all[val_idx], y_all[val_idx]

    hidden = [int(h) for h in args.hidden.split(",")]
    torch.manual_seed(args.seed)
    act_fn = study.ACTIVATIONS[args.act]() if args.torch == "-" else study.Formula(args.torch)
    net = study.BaseNetwork(act_fn, hidden_sizes=hidden)
    study.initialize(net, args.init)
    optimizer = study.make_optimizer(net, args.optimizer)
    loss_module = nn.CrossEntropyLoss()

    # The study's train_model.
    val_scores, best_epoch, best_state = [], -1, None
    steps = len(x_train) // args.batch_size
    for epoch in range(args.epochs):
        net.train()
        order = torch.randperm(len(x_train))
        for step in range(steps):
            idx = order[step * args.batch_size : (step + 1) * args.batch_size]
            optimizer.zero_grad()
            loss = loss_module(net(x_train[idx]), y_train[idx])
            loss.backward()
            optimizer.step()
        val_acc = study.accuracy(net, x_val, y_val)
        val_scores.append(val_acc)
        if len(val_scores) == 1 or val_acc > val_scores[best_epoch]:
            best_state = copy.deepcopy(net.state_dict())
            best_epoch = epoch
        elif best_epoch <= epoch - args.patience:
            break
    net.load_state_dict(best_state)
    test_acc = study.accuracy(net, x_test, y_test)

    record = {
        "id": args.id,
        "act": args.act,
        "seed": args.seed,
        "split_seed": args.split_seed,
        "patience": args.patience,
        "hidden": hidden,
        "test_acc": test_acc,
        "best_val_acc": val_scores[best_epoch],
        "best_epoch": best_epoch + 1,
        "epochs_run": len(val_scores),
        "val_acc": val_scores,
        "seconds": time.perf_counter() - started,
        "torch": torch.__version__,
    }
    temp = args.out + ".tmp"
    with open(temp, "w") as f:
        json.dump(record, f)
    os.replace(temp, args.out)
    print(f"{args.id}: test accuracy {100 * test_acc:.2f}% after {len(val_scores)} epochs")


if __name__ == "__main__":
    main()
