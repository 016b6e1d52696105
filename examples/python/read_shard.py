"""Print what Python's `webdataset` sees in synfarm shards, as one JSON document on stdout.

Usage: python read_shard.py SHARD [SHARD ...]
SHARD is anything webdataset opens: a path, a file: URL, an http(s) URL or "pipe:COMMAND".
Each sample is summarised by its key, the shard it came from, its fields, the decoded image size
(via PIL), the decoded .json label and the .cls class index. Uses no synfarm code on purpose: this
is how a training cluster reads the farm's output.
"""

import json
import sys

import webdataset as wds


def summarize(sample: dict) -> dict:
    summary = {
        "key": sample["__key__"],
        "url": sample["__url__"],
        "fields": sorted(k for k in sample if not k.startswith("__")),
    }
    for field in ("jpg", "png"):
        if field in sample:
            image = sample[field]
            summary["image"] = {"field": field, "width": image.width, "height": image.height, "mode": image.mode}
    if "json" in sample:
        summary["json"] = sample["json"]
    if "cls" in sample:
        summary["cls"] = sample["cls"]
    return summary


def main(urls: list[str]) -> None:
    if not urls:
        sys.exit("usage: python read_shard.py SHARD [SHARD ...]")
    dataset = wds.WebDataset(urls, shardshuffle=False).decode("pil")
    json.dump({"samples": [summarize(sample) for sample in dataset]}, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1:])
