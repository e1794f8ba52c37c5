#!/usr/bin/env python3
"""Print the paths of build outputs named in cargo's JSON messages, one a line.

Reads `cargo build --message-format=json-render-diagnostics` output on stdin, so that
scripts find outputs without guessing the target directory or file names.
"""

import argparse
import json
import os
import sys


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--target", help="keep only artifacts of the cargo target with this name")
    parser.add_argument(
        "--manifest-path", help="keep only artifacts of the package with this Cargo.toml"
    )
    kind = parser.add_mutually_exclusive_group(required=True)
    kind.add_argument("--executable", action="store_true", help="print the executable")
    kind.add_argument("--ext", help="print the output files ending in .EXT, such as wasm")
    args = parser.parse_args()

    manifest_path = os.path.realpath(args.manifest_path) if args.manifest_path else None
    for line in sys.stdin:
        if not line.startswith("{"):
            continue
        message = json.loads(line)
        if message.get("reason") != "compiler-artifact":
            continue
        if args.target and message["target"]["name"] != args.target:
            continue
        if manifest_path and os.path.realpath(message["manifest_path"]) != manifest_path:
            continue
        if args.executable:
            if message.get("executable"):
                print(message["executable"])
        else:
            for filename in message["filenames"]:
                if filename.endswith("." + args.ext):
                    print(filename)
    return 0


if __name__ == "__main__":
    sys.exit(main())
