"""Write a small shard with Python's `webdataset.TarWriter`, and print the bytes of every member.

Usage: python write_shard.py OUTPUT.tar COUNT
TarWriter is used with its defaults (Python's tarfile PAX format, wall-clock float mtimes), so the
shard carries PAX extended headers; one key is longer than the 100-byte ustar name field and one is
non-ASCII, which tarfile stores as PAX `path` records. stdout: {"samples": [{"key", "fields":
{field: base64}}]}, the exact bytes a reader must return.
"""

import base64
import io
import json
import sys

import webdataset as wds
from PIL import Image


def jpeg(width: int, height: int, shade: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (shade, 255 - shade, 90)).save(out, format="JPEG", quality=90)
    return out.getvalue()


def make_samples(count: int) -> list[dict]:
    keys = [f"py_{index:06d}" for index in range(count)]
    if count >= 2:
        keys[1] = "émotion_000001"
    if count >= 3:
        keys[2] = "long_" + "k" * 120
    return [
        {
            "__key__": key,
            "jpg": jpeg(40 + index, 30 + index, (index * 37) % 256),
            "json": json.dumps({"index": index, "label": "happy"}).encode(),
            "cls": str(index % 8).encode(),
            "txt": f"sample {index}\n".encode(),
        }
        for index, key in enumerate(keys)
    ]


def main(output: str, count: int) -> None:
    samples = make_samples(count)
    with wds.TarWriter(output) as sink:
        for sample in samples:
            sink.write(sample)
    described = [
        {
            "key": sample["__key__"],
            "fields": {k: base64.b64encode(v).decode() for k, v in sample.items() if not k.startswith("__")},
        }
        for sample in samples
    ]
    json.dump({"samples": described}, sys.stdout)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python write_shard.py OUTPUT.tar COUNT")
    main(sys.argv[1], int(sys.argv[2]))
