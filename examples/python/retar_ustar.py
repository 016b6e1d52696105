"""Copy a tar member by member with Python's tarfile in USTAR format.

Usage: python retar_ustar.py INPUT.tar OUTPUT.tar
synfarm's interop test compares the copy with the original byte for byte: equal bytes show that
synfarm's writer lays out headers, padding and the end of the archive exactly as Python does.
"""

import sys
import tarfile


def main(source: str, target: str) -> None:
    with tarfile.open(source) as original, tarfile.open(target, "w", format=tarfile.USTAR_FORMAT) as copy:
        for member in original:
            copy.addfile(member, original.extractfile(member))


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python retar_ustar.py INPUT.tar OUTPUT.tar")
    main(sys.argv[1], sys.argv[2])
