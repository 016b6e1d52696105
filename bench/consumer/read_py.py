"""One reader process of the consumer bench: Python's webdataset (+ PIL with --decode), the
counterpart of read-ts.ts. Rank r of W takes shards r, r+W, ... (webdataset's own split).
Waits until --start-at (epoch ms), then prints {"samples", "start", "end"} (epoch ms) as JSON."""

import argparse
import json
import time
from itertools import islice

import webdataset as wds

parser = argparse.ArgumentParser()
parser.add_argument("--urls", required=True)
parser.add_argument("--rank", type=int, default=0)
parser.add_argument("--world-size", type=int, default=1)
parser.add_argument("--decode", action="store_true")
parser.add_argument("--start-at", type=float, default=0)
args = parser.parse_args()
with open(args.urls, encoding="utf-8") as f:
    urls = [line.strip() for line in f if line.strip()]
stages = [
    wds.SimpleShardList(urls),
    lambda src: islice(src, args.rank, None, args.world_size),
    wds.tarfile_to_samples(),
]
if args.decode:
    # Images to uint8 arrays via PIL, json parsed, cls to int: what synfarm's decodeSamples yields.
    stages.append(wds.decode("rgb8"))
pipeline = wds.DataPipeline(*stages)
time.sleep(max(0.0, args.start_at / 1000 - time.time()))
start = time.time()
samples = sum(1 for _ in pipeline)
print(json.dumps({"samples": samples, "start": start * 1000, "end": time.time() * 1000}))
