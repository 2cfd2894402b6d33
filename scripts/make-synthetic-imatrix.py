#!/usr/bin/env python3
"""A synthetic importance matrix in llama-imatrix's GGUF layout for a model's weight matrices.

    make-synthetic-imatrix.py MODEL.gguf OUT.gguf [SEED]

Per 2-D or 3-D `*.weight` tensor but norms and routers: `<name>.in_sum2` (F32, [ne0, n_expert])
holding seeded values sum = count * (0.05 + u^3 * 4), u uniform in [0, 1) (a spread like real
activations: most columns small, a few large), and `<name>.counts` (F32, [1, n_expert]) = 100
(0 for the last expert of a stack, to exercise llama-quantize's "no tokens: weight 1" rule);
keys imatrix.datasets = ["synthetic"], imatrix.chunk_count = 1, imatrix.chunk_size = 100.
Pure Python (no numpy). Used for tests/data/quantize when llama-imatrix is not at hand."""
import random
import struct
import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
from gguf_tensor_types import Reader  # noqa: E402


def tensor_table(path):
    data = open(path, "rb").read()
    r = Reader(data)
    r.at = 8
    n_tensors, n_kv = r.take("Q"), r.take("Q")
    for _ in range(n_kv):
        r.string()
        r.value(r.take("I"))
    out = []
    for _ in range(n_tensors):
        name = r.string()
        nd = r.take("I")
        ne = [r.take("Q") for _ in range(nd)]
        r.take("I")
        r.take("Q")
        out.append((name, ne))
    return out


def gguf_string(s):
    b = s.encode()
    return struct.pack("<Q", len(b)) + b


def main():
    model, out, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]) if len(sys.argv) > 3 else 1
    rng = random.Random(seed)
    tensors = []  # (name, dims, float list)
    for name, ne in tensor_table(model):
        if len(ne) < 2 or not name.endswith(".weight") or "_norm" in name or "ffn_gate_inp" in name:
            continue
        n_exp = ne[2] if len(ne) > 2 else 1
        counts = [100.0] * n_exp
        if n_exp > 1:
            counts[-1] = 0.0
        sums = []
        for e in range(n_exp):
            sums += [counts[e] * (0.05 + rng.random() ** 3 * 4) for _ in range(ne[0])]
        tensors.append((name + ".in_sum2", [ne[0], n_exp], sums))
        tensors.append((name + ".counts", [1, n_exp], counts))
    kv = b""
    kv += gguf_string("imatrix.datasets") + struct.pack("<II", 9, 8) + struct.pack("<Q", 1) + gguf_string("synthetic")
    kv += gguf_string("imatrix.chunk_count") + struct.pack("<II", 4, 1)
    kv += gguf_string("imatrix.chunk_size") + struct.pack("<II", 4, 100)
    infos, blobs, off = b"", b"", 0
    for name, dims, vals in tensors:
        infos += gguf_string(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        infos += struct.pack("<IQ", 0, off)
        blob = struct.pack("<%df" % len(vals), *vals)
        blob += b"\0" * ((-len(blob)) % 32)
        blobs += blob
        off += len(blob)
    head = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), 3) + kv + infos
    head += b"\0" * ((-len(head)) % 32)
    open(out, "wb").write(head + blobs)


if __name__ == "__main__":
    main()
