"""Stream a synfarm run into training with Python's `webdataset`, split across ranks and workers.

Usage:
  python loader.py --manifest SRC [--endpoint-url URL] [options]
  python loader.py --urls FILE [options]

SRC is the run's manifest.json: a path, a file:// URL, an http(s) URL (e.g. presigned), or an
s3:// URL (fetched with `aws s3 cp`). Its committed shards are read from S3 as
`pipe:aws s3 cp [--endpoint-url URL] s3://bucket/key -` (credentials from the usual AWS
environment), or as local paths for a run in a folder.
FILE lists one shard URL per line ('-' for stdin), e.g. the presigned https URLs printed by
`synfarm urls RUN --scheme presigned`: that is the way for clusters without S3 credentials.

Splitting is by shard, as webdataset does it: rank r of W takes shards r, r+W, ...; worker k of K
of a rank takes every K-th of those. Shards hold different numbers of samples, so ranks may see
different counts; use synfarm's own reader (sample-level split) or webdataset's
`.with_epoch(n)` with resampling where every rank must take the same number of steps.

With PyTorch installed the workers are real DataLoader processes (split by
`wds.split_by_worker`); without it the same K splits are read one after another in this process,
so the keys seen are the same either way. Prints one JSON document: the keys seen per worker,
counts, bytes and timing.
"""

import argparse
import json
import os
import subprocess
import sys
import time
import urllib.request
from itertools import islice

import webdataset as wds

try:
    import torch.utils.data as torch_data
except ImportError:  # torch is optional: webdataset's own pipeline runs without it
    torch_data = None


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


def shard_url(url: str, endpoint_url: str | None) -> str:
    """The form webdataset opens: a pipe through the AWS CLI for s3://, a path for file://."""
    if url.startswith("s3://"):
        endpoint = f"--endpoint-url {endpoint_url} " if endpoint_url else ""
        return f"pipe:aws s3 cp {endpoint}{url} -"
    if url.startswith("file://"):
        return url[len("file://") :]
    return url


def urls_from_manifest(source: str, endpoint_url: str | None) -> list[str]:
    manifest = json.loads(read_text(source, endpoint_url))
    if manifest.get("format") != "synfarm-manifest-v1":
        sys.exit(f"{source} is not a synfarm manifest (format {manifest.get('format')!r})")
    return [shard_url(s["url"], endpoint_url) for s in sorted(manifest["shards"], key=lambda s: s["shard"])]


def urls_from_file(path: str) -> list[str]:
    lines = sys.stdin if path == "-" else open(path, encoding="utf-8")
    return [line.strip() for line in lines if line.strip()]


def node_splitter(rank: int, world_size: int):
    """Explicit rank split, so it works with or without torch.distributed being initialised."""
    return lambda src: islice(src, rank, None, world_size)


def fixed_worker_splitter(worker: int, num_workers: int):
    return lambda src: islice(src, worker, None, num_workers)


def sample_bytes(sample: dict) -> int:
    return sum(len(v) for k, v in sample.items() if isinstance(v, (bytes, bytearray)))


def with_size(sample: dict) -> dict:
    """Counts the stored bytes before decoding replaces them; `__` keys pass the decoder untouched."""
    return {**sample, "__bytes__": sample_bytes(sample)}


def summarize(sample: dict) -> dict:
    return {"key": sample["__key__"], "url": sample["__url__"], "bytes": sample["__bytes__"]}


def pipeline(urls, args, worker_splitter):
    stages = [
        wds.SimpleShardList(urls),
        node_splitter(args.rank, args.world_size),
        worker_splitter,
        wds.tarfile_to_samples(),
        wds.map(with_size),
    ]
    if args.shuffle > 0:
        stages.append(wds.shuffle(args.shuffle, seed=args.seed))
    if args.decode:
        stages.append(wds.decode("rgb8"))
    stages.append(wds.map(summarize))
    return wds.DataPipeline(*stages)


def run(urls: list[str], args) -> dict:
    per_worker: dict[str, list[str]] = {}
    total_bytes = 0
    start = time.perf_counter()
    if torch_data is not None and args.workers > 0 and not args.no_torch:
        # Real worker processes: each sees its own get_worker_info(), used by split_by_worker.
        loader = torch_data.DataLoader(
            pipeline(urls, args, wds.split_by_worker), batch_size=None, num_workers=args.workers
        )
        for item in loader:
            per_worker.setdefault("loader", []).append(item["key"])
            total_bytes += item["bytes"]
    else:
        for worker in range(max(args.workers, 1)):
            keys = per_worker.setdefault(str(worker), [])
            for item in pipeline(urls, args, fixed_worker_splitter(worker, max(args.workers, 1))):
                keys.append(item["key"])
                total_bytes += item["bytes"]
    seconds = time.perf_counter() - start
    keys = [k for ks in per_worker.values() for k in ks]
    return {
        "rank": args.rank,
        "worldSize": args.world_size,
        "workers": args.workers,
        "torch": torch_data is not None and args.workers > 0 and not args.no_torch,
        "shards": len(urls),
        "samples": len(keys),
        "keys": keys,
        "perWorker": per_worker,
        "bytes": total_bytes,
        "seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--manifest", help="the run's manifest.json (path, file://, http(s):// or s3://)")
    source.add_argument("--urls", help="file with one shard URL per line ('-' for stdin)")
    parser.add_argument(
        "--endpoint-url",
        default=os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL"),
        help="custom S3 endpoint for the aws CLI (default: AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL)",
    )
    parser.add_argument("--rank", type=int, default=int(os.environ.get("RANK", "0")))
    parser.add_argument("--world-size", type=int, default=int(os.environ.get("WORLD_SIZE", "1")))
    parser.add_argument("--workers", type=int, default=2, help="DataLoader workers (0: read in this process)")
    parser.add_argument("--shuffle", type=int, default=0, help="sample shuffle buffer size (0: off)")
    parser.add_argument("--seed", type=int, default=0, help="shuffle seed")
    parser.add_argument("--decode", action="store_true", help="decode images to uint8 arrays (needs Pillow)")
    parser.add_argument("--no-torch", action="store_true", help="ignore an installed torch")
    args = parser.parse_args()
    urls = urls_from_manifest(args.manifest, args.endpoint_url) if args.manifest else urls_from_file(args.urls)
    json.dump(run(urls, args), sys.stdout)


if __name__ == "__main__":
    main()
