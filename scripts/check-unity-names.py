#!/usr/bin/env python3
"""Fails when two source files of one unity translation unit define the same file-local name.

The library, cli/ and server/ are compiled one translation unit per directory (CMakeLists.txt).
Two files' anonymous-namespace or static definitions of one name then meet in one unit: a type
or a variable is a compile error, but two functions are overloads, and a call meant for one file's
function can silently resolve to the other's. This lists every name defined at namespace scope
(column 0: functions, types, constants, aliases) in more than one .cpp file of a directory.

The directories are cli/, server/ and those CMakeLists.txt lists in TRIDENT_UNITY_DIRS.

Usage: check-unity-names.py [REPO_DIR]   (default: the repository holding this script)
"""
import collections
import os
import re
import sys

FUNC = re.compile(r"^(?:static\s+|inline\s+|constexpr\s+|template\s*<[^>]*>\s*)*"
                  r"[A-Za-z_][\w:<>,\s\*&]*?[\s\*&]([A-Za-z_]\w*)\s*\(")
TYPE = re.compile(r"^(?:struct|class|enum(?:\s+class)?|union)\s+([A-Za-z_]\w*)")
CONST = re.compile(r"^(?:static\s+)?(?:constexpr|const)\s+[\w:<>,\s\*&]*?\b([A-Za-z_]\w*)\s*(?:\[[^\]]*\])*\s*[={]")
ALIAS = re.compile(r"^using\s+([A-Za-z_]\w*)\s*=")
SKIP = ("namespace", "using namespace", "#", "//", "}", "return", "if", "for", "while", "switch")


def names_in(path):
    found = set()
    for line in open(path, encoding="utf-8"):
        if not line or line[0].isspace() or line.startswith(SKIP):
            continue
        for rx in (TYPE, ALIAS, CONST, FUNC):
            m = rx.match(line)
            if m:
                name = m.group(1)
                if name not in ("operator", "main"):
                    found.add(name)
                break
    return found


def unity_dirs(repo):
    text = open(os.path.join(repo, "CMakeLists.txt"), encoding="utf-8").read()
    m = re.search(r"set\(TRIDENT_UNITY_DIRS([^)]*)\)", text)
    if not m:
        sys.exit("check-unity-names: CMakeLists.txt sets no TRIDENT_UNITY_DIRS")
    return sorted(set(m.group(1).split()) | {"cli", "server"})


def main():
    repo = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    src = os.path.join(repo, "src")
    bad = 0
    for d in unity_dirs(repo):
        folder = os.path.join(src, d)
        where = collections.defaultdict(list)
        for f in sorted(os.listdir(folder)):
            # Per-ISA kernel files have flags of their own and are never merged.
            if f.endswith(".cpp") and not re.search(r"_avx(2|512)\.cpp$", f):
                for n in names_in(os.path.join(folder, f)):
                    where[n].append(f)
        for n, files in sorted(where.items()):
            if len(files) > 1:
                print(f"src/{d}: '{n}' is defined in {', '.join(files)}")
                bad += 1
    if bad:
        print(f"check-unity-names: {bad} name(s) defined in more than one file of a unity unit; rename "
              "the file-local ones", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
