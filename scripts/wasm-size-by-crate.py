#!/usr/bin/env python3
"""Print the code size of a wasm module by crate and its largest functions.

Reads the function names from the module's `name` section, so give it a module that still
has one, for example the wasm-bindgen output of `wasm-bindgen --keep-debug` before wasm-opt:

    wasm-bindgen --target web --keep-debug --out-dir /tmp/sized \\
        target/wasm32-unknown-unknown/wasm-release/steadfast.wasm
    python3 scripts/wasm-size-by-crate.py /tmp/sized/steadfast_bg.wasm

Sizes are bytes of function bodies before wasm-opt, so they rank the contributors rather
than add up to the shipped module.
"""

import argparse
import collections
import re


def read_uleb(data, offset):
    result = shift = 0
    while True:
        byte = data[offset]
        offset += 1
        result |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return result, offset


def sections(data):
    offset = 8
    while offset < len(data):
        section_id = data[offset]
        size, offset = read_uleb(data, offset + 1)
        yield section_id, offset, size
        offset += size


def imported_functions(data, offset):
    count, offset = read_uleb(data, offset)
    functions = 0
    for _ in range(count):
        for _ in range(2):
            length, offset = read_uleb(data, offset)
            offset += length
        kind = data[offset]
        offset += 1
        if kind == 0:
            _, offset = read_uleb(data, offset)
            functions += 1
        elif kind == 1:
            offset += 1
            flags, offset = read_uleb(data, offset)
            _, offset = read_uleb(data, offset)
            if flags & 1:
                _, offset = read_uleb(data, offset)
        elif kind == 2:
            flags, offset = read_uleb(data, offset)
            _, offset = read_uleb(data, offset)
            if flags & 1:
                _, offset = read_uleb(data, offset)
        elif kind == 3:
            offset += 2
    return functions


def function_names(data, offset, end):
    names = {}
    length, offset = read_uleb(data, offset)
    if data[offset : offset + length] != b"name":
        return names
    offset += length
    while offset < end:
        subsection = data[offset]
        size, offset = read_uleb(data, offset + 1)
        if subsection == 1:
            count, cursor = read_uleb(data, offset)
            for _ in range(count):
                index, cursor = read_uleb(data, cursor)
                length, cursor = read_uleb(data, cursor)
                names[index] = data[cursor : cursor + length].decode("utf-8", "replace")
                cursor += length
        offset += size
    return names


def crate_of(name):
    match = re.match(r"^[<&(]*([A-Za-z_][A-Za-z0-9_]*)", name)
    crate = match[1] if match else "?"
    return "(no name)" if crate == "?" else crate


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("module")
    parser.add_argument("--top", type=int, default=25, help="functions to list (default 25)")
    args = parser.parse_args()
    data = open(args.module, "rb").read()
    imports, bodies, names = 0, [], {}
    for section_id, offset, size in sections(data):
        if section_id == 2:
            imports = imported_functions(data, offset)
        elif section_id == 10:
            count, cursor = read_uleb(data, offset)
            for _ in range(count):
                length, start = read_uleb(data, cursor)
                bodies.append(length + start - cursor)
                cursor = start + length
        elif section_id == 0:
            names.update(function_names(data, offset, offset + size))
    if not names:
        parser.error(f"{args.module} has no name section; see --help for how to keep one")
    by_crate = collections.Counter()
    functions = []
    for index, size in enumerate(bodies):
        name = names.get(index + imports, "?")
        by_crate[re.sub(r"\[[0-9a-f]+\]$", "", crate_of(name))] += size
        functions.append((size, name))
    print(f"{sum(bodies)} bytes of code in {len(bodies)} functions")
    for crate, size in by_crate.most_common(20):
        print(f"{size:8d}  {crate}")
    print()
    for size, name in sorted(functions, reverse=True)[: args.top]:
        print(f"{size:8d}  {name[:140]}")


if __name__ == "__main__":
    main()
