#!/usr/bin/env python3
"""Read a folder of TensorBoard event files with TensorBoard's own EventAccumulator and print
what it found as JSON: per scalar tag the (step, value) pairs, per histogram tag the (step,
count) pairs, the text tags, and whether the HParams plugin has the run's hyperparameters.

actfn's tests run it on the event files a run wrote (`ACTFN_TENSORBOARD_PYTHON`, a Python with
the `tensorboard` package), so that the reader checked against is the real one:

    python3 -m venv /tmp/tb && /tmp/tb/bin/pip install tensorboard
    /tmp/tb/bin/python scripts/tensorboard-read.py RUN_FOLDER
"""

import json
import sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2


def main():
    acc = EventAccumulator(sys.argv[1], size_guidance={"scalars": 0, "histograms": 0, "tensors": 0})
    acc.Reload()
    tags = acc.Tags()
    out = {
        "scalars": {t: [[e.step, e.value] for e in acc.Scalars(t)] for t in tags["scalars"]},
        "histograms": {t: [[e.step, e.histogram_value.num] for e in acc.Histograms(t)] for t in tags["histograms"]},
        "text": {
            t: [e.tensor_proto.string_val[0].decode() for e in acc.Tensors(t)]
            for t in tags["tensors"]
            if acc.SummaryMetadata(t).plugin_data.plugin_name == "text"
        },
        "hparams": {},
    }
    try:
        content = acc.PluginTagToContent("hparams")
    except KeyError:
        content = {}
    for tag, data in content.items():
        message = plugin_data_pb2.HParamsPluginData.FromString(data)
        kind = message.WhichOneof("data")
        if kind == "session_start_info":
            info = message.session_start_info
            out["hparams"] = {
                k: getattr(v, v.WhichOneof("kind")) for k, v in info.hparams.items()
            }
        elif kind == "experiment":
            out["metrics"] = [m.name.tag for m in message.experiment.metric_infos]
    print(json.dumps(out))


if __name__ == "__main__":
    main()
