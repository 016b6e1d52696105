"""Random access to a synfarm run with `wids.ShardListDataset`, from the run's wids-index.json.

Usage:
  python wids_example.py --index SRC [--urls FILE] [--endpoint-url URL] [--count N] [--seed S]

SRC is the run's wids-index.json: a path, file:// URL, http(s) URL (e.g. presigned) or s3:// URL.
wids downloads each shard whole into a local cache before indexing it (by mmap), and opens:
  - http(s):// with curl: presigned URLs need no credentials (pass them with --urls FILE, one per
    line in shard order, e.g. from `synfarm urls RUN --scheme presigned`; they replace the index's
    s3:// URLs, which a credential-less reader cannot use);
  - s3:// with `aws s3 cp URL LOCAL` (AWS's own endpoint only), so with --endpoint-url the URLs are
    rewritten to wids' pipe form `pipe:aws s3 cp --endpoint-url X URL '{local}'`;
  - paths and file:// URLs by copying.
Prints one JSON document: the dataset length, and the keys of the samples read in a seeded random
order (all of them unless --count).

wids 0.1.11 imports torch.distributed at import time although only its distributed sampler uses
it, and its no-torch fallback base classes are not generic, so `import wids` fails without PyTorch;
a minimal stand-in is registered first in that case, so the dataset itself works.
"""

import argparse
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import types
import urllib.request
from typing import Generic, TypeVar


def import_wids():
    try:
        import torch  # noqa: F401
    except ImportError:
        install_torch_stand_in()
    import wids

    return wids


def install_torch_stand_in() -> None:
    """Just what `import wids` touches: torch.distributed (unused unless sampling distributed) and
    generic Dataset/Sampler bases (its own fallback classes are not subscriptable, so it fails)."""
    modules = {name: types.ModuleType(name) for name in ("torch", "torch.distributed", "torch.utils", "torch.utils.data")}
    modules["torch.distributed"].is_initialized = lambda: False
    T = TypeVar("T")

    class Dataset(Generic[T]):
        pass

    class Sampler(Generic[T]):
        pass

    modules["torch.utils.data"].Dataset = Dataset
    modules["torch.utils.data"].Sampler = Sampler
    modules["torch"].distributed = modules["torch.distributed"]
    modules["torch"].utils = modules["torch.utils"]
    modules["torch.utils"].data = modules["torch.utils.data"]
    sys.modules.update(modules)


def read_text(source: str, endpoint_url: str | None) -> str:
    if source.startswith("s3://"):
        cmd = ["aws", "s3", "cp", *(["--endpoint-url", endpoint_url] if endpoint_url else []), source, "-"]
        return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    if source.startswith(("http://", "https://")):
        with urllib.request.urlopen(source) as response:
            return response.read().decode()
    path = source[len("file://") :] if source.startswith("file://") else source
    with open(path, encoding="utf-8") as f:
        return f.read()


def wids_url(url: str, endpoint_url: str | None) -> str:
    if url.startswith("s3://") and endpoint_url:
        return f"pipe:aws s3 cp --endpoint-url {endpoint_url} {url} '{{local}}'"
    return url


SHARD_NAME = re.compile(r"shard-\d{6}\.tar")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", required=True, help="the run's wids-index.json")
    parser.add_argument("--urls", help="shard URLs to use instead of the index's, one per line, in shard order")
    parser.add_argument(
        "--endpoint-url",
        default=os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL"),
    )
    parser.add_argument("--count", type=int, default=0, help="samples to read (0: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache-dir", help="where wids keeps downloaded shards (default: a temp folder)")
    args = parser.parse_args()

    index = json.loads(read_text(args.index, args.endpoint_url))
    shardlist = index["shardlist"]
    if args.urls:
        with open(args.urls, encoding="utf-8") as f:
            urls = [line.strip() for line in f if line.strip()]
        if len(urls) != len(shardlist):
            sys.exit(f"{args.urls} has {len(urls)} URLs but the index lists {len(shardlist)} shards")
        shardlist = [{**s, "url": u} for s, u in zip(shardlist, urls)]
    else:
        shardlist = [{**s, "url": wids_url(s["url"], args.endpoint_url)} for s in shardlist]

    wids = import_wids()
    # One folder per run: every run names its shards shard-000000.tar, ...
    cache_dir = os.path.join(args.cache_dir or tempfile.mkdtemp(prefix="synfarm-wids-"), index.get("name") or "run")
    os.makedirs(cache_dir, exist_ok=True)

    # Named by the shard's file name, not the whole URL: a presigned URL is longer than a file
    # name may be, and the pipe form holds spaces.
    def localname(url: str) -> str:
        match = SHARD_NAME.search(url)
        return os.path.join(cache_dir, match.group(0) if match else f"shard-{abs(hash(url))}.tar")

    dataset = wids.ShardListDataset(
        shardlist, localname=localname, transformations=[], dataset_name=index.get("name")
    )
    order = list(range(len(dataset)))
    random.Random(args.seed).shuffle(order)
    if args.count:
        order = order[: args.count]
    samples = []
    for i in order:
        sample = dataset[i]
        samples.append(
            {
                "index": i,
                "key": sample["__key__"],
                "fields": sorted(k for k in sample if not k.startswith("__")),
                "cls": int(sample[".cls"].read() if hasattr(sample[".cls"], "read") else sample[".cls"]),
            }
        )
    dataset.close()
    json.dump({"length": int(len(dataset)), "samples": samples}, sys.stdout)


if __name__ == "__main__":
    main()
