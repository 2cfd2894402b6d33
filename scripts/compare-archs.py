#!/usr/bin/env python3
"""Runs `trident logits` on llama.cpp's random test models and compares with llama.cpp's logits.

Usage: compare-archs.py TRIDENT MODEL_DIR REF_DIR [--markdown] [NAME ...]

MODEL_DIR holds the GGUF files `test-llama-archs -o DIR -s SEED` writes (llama.cpp, built
outside this repository); REF_DIR holds one JSON per file with llama.cpp's `prompt_ids` and
`prompt_logits` (one thread, F32 K/V cache, the prompt in one batch). A family is reproduced when
the normalized mean squared error sum((a-b)^2) / sum(a^2) is at most 1e-6, test-llama-archs' own
measure; a row between 1e-11 and 1e-6 is reported as "close" (see CLOSE). Prints one row per file: name, result, NMSE or trident's one-line refusal.
"""
import json
import os
import subprocess
import sys

TOL = 1e-6
# Below TOL but above this, a row is marked "close": the tiny random weights hide real mistakes
# (a wrongly applied weight scale gave ~1e-9), while a faithful block lands at ~1e-13.
CLOSE = 1e-11


def nmse(a, b):
    num = den = 0.0
    for ra, rb in zip(a, b):
        for x, y in zip(ra, rb):
            num += (x - y) ** 2
            den += x * x
    return num / den if den else float("inf")


def check(trident, gguf, ref):
    # llama.cpp prints non-finite logits as nan / inf, which JSON does not have.
    text = open(ref).read().replace("-nan", "NaN").replace("nan", "NaN").replace("-inf", "-Infinity")
    want = json.loads(text.replace(",inf", ",Infinity").replace("[inf", "[Infinity"))
    ids = ",".join(str(i) for i in want["prompt_ids"])
    r = subprocess.run([trident, "logits", "-m", gguf, "--tokens", ids, "-ctk", "f32", "-ctv", "f32", "-t", "1"],
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        lines = r.stderr.strip().splitlines()
        msg = lines[-1] if lines else f"exit {r.returncode}"
        if r.returncode != 1 or not msg.startswith("trident: error:"):
            return "CRASH", f"exit {r.returncode}: {msg}"
        return "refused", msg.replace("trident: error: ", "").replace(gguf + ": ", "")
    got = json.loads(r.stdout)["logits"]
    if len(got) != len(want["prompt_logits"]):
        return "WRONG", f"{len(got)} rows, expected {len(want['prompt_logits'])}"
    e = nmse(want["prompt_logits"], got)
    if e > TOL:
        return "WRONG", f"{e:.2e}"
    return ("close" if e > CLOSE else "reproduced"), f"{e:.2e}"


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    markdown = "--markdown" in sys.argv
    trident, model_dir, ref_dir, names = args[0], args[1], args[2], args[3:]
    refs = sorted(f[:-5] for f in os.listdir(ref_dir) if f.endswith(".json"))
    if names:
        refs = [r for r in refs if r in names or r.rsplit("-", 1)[0] in names]
    counts = {}
    if markdown:
        print("| file | result | NMSE or reason |\n|---|---|---|")
    for name in refs:
        status, detail = check(trident, os.path.join(model_dir, name + ".gguf"), os.path.join(ref_dir, name + ".json"))
        counts[status] = counts.get(status, 0) + 1
        print(f"| {name} | {status} | {detail} |" if markdown else f"{name:28s} {status:10s} {detail}", flush=True)
    print(", ".join(f"{v} {k}" for k, v in sorted(counts.items())))
    return 1 if counts.get("CRASH") or counts.get("WRONG") or counts.get("close") else 0


if __name__ == "__main__":
    sys.exit(main())
