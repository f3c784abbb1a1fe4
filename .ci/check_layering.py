"""Check the include layering of csrc/ (the rule in csrc/README.md).

    runtime <- simd <- {gemm, simplex} <- nn <- bindings

A file may include files of its own layer and of the layers below it, written
as a path from csrc/ ("gemm/gemm.hpp"); gemm and simplex do not include each
other; a layer's kernels/ folder is included only from inside that layer.
Exits 1 and lists every offending include.

Usage: python .ci/check_layering.py [path/to/csrc]
"""

from __future__ import annotations

import pathlib
import re
import sys

LAYER_RANK = {"runtime": 0, "simd": 1, "gemm": 2, "simplex": 2, "nn": 3, "bindings": 4}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.MULTILINE)


def layer_of(relative: pathlib.PurePosixPath) -> str:
    return relative.parts[0]


def problems(csrc: pathlib.Path) -> list[str]:
    found = []
    sources = sorted(p for p in csrc.rglob("*") if p.suffix in (".cpp", ".hpp"))
    for path in sources:
        rel = pathlib.PurePosixPath(path.relative_to(csrc).as_posix())
        here = layer_of(rel)
        if len(rel.parts) < 2 or here not in LAYER_RANK:
            found.append(f"{rel}: not inside a layer folder ({', '.join(LAYER_RANK)})")
            continue
        for target in INCLUDE.findall(path.read_text()):
            tgt = pathlib.PurePosixPath(target)
            where = f'{rel}: #include "{target}"'
            if ".." in tgt.parts or not (csrc / tgt).is_file():
                found.append(f"{where}: not a path from csrc/ to a file")
                continue
            there = layer_of(tgt)
            if there != here and LAYER_RANK[there] >= LAYER_RANK[here]:
                found.append(f"{where}: {here} may not include {there}")
            if "kernels" in tgt.parts[1:-1] and there != here:
                found.append(f"{where}: {there}/kernels/ is private to {there}")
    return found


def main(argv: list[str]) -> int:
    default = pathlib.Path(__file__).resolve().parent.parent / "csrc"
    csrc = pathlib.Path(argv[1]) if len(argv) > 1 else default
    found = problems(csrc)
    for line in found:
        print(line)
    n = sum(1 for p in csrc.rglob("*") if p.suffix in (".cpp", ".hpp"))
    print(f"csrc layering: {n} files, {len(found)} problem(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
