#!/usr/bin/env python3
"""Per-tensor types (and optionally sha256 of each tensor's bytes) of a GGUF file, as JSON.

    gguf_tensor_types.py FILE [--sha256]

Pure Python (no numpy), so it runs where gguf-py cannot; it reads the same fields gguf-py's
GGUFReader does (tensor name, ggml type id, dims, offset). Used to make the quantize fixtures in
tests/data/quantize/ from llama-quantize's output (see the README there)."""
import hashlib
import json
import struct
import sys

# ggml type id -> (name as ggml_type_name spells it, elements per block, bytes per block)
TYPES = {
    0: ("f32", 1, 4), 1: ("f16", 1, 2), 2: ("q4_0", 32, 18), 3: ("q4_1", 32, 20), 6: ("q5_0", 32, 22),
    7: ("q5_1", 32, 24), 8: ("q8_0", 32, 34), 9: ("q8_1", 32, 36), 10: ("q2_K", 256, 84), 11: ("q3_K", 256, 110),
    12: ("q4_K", 256, 144), 13: ("q5_K", 256, 176), 14: ("q6_K", 256, 210), 15: ("q8_K", 256, 292),
    16: ("iq2_xxs", 256, 66), 17: ("iq2_xs", 256, 74), 18: ("iq3_xxs", 256, 98), 19: ("iq1_s", 256, 50),
    20: ("iq4_nl", 32, 18), 21: ("iq3_s", 256, 110), 22: ("iq2_s", 256, 82), 23: ("iq4_xs", 256, 136),
    24: ("i8", 1, 1), 25: ("i16", 1, 2), 26: ("i32", 1, 4), 27: ("i64", 1, 8), 28: ("f64", 1, 8),
    29: ("iq1_m", 256, 56), 30: ("bf16", 1, 2), 34: ("tq1_0", 256, 54), 35: ("tq2_0", 256, 66),
    39: ("mxfp4", 32, 17), 40: ("nvfp4", 64, 36), 41: ("q1_0", 128, 18), 42: ("q2_0", 64, 18),
}
SCALAR = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}


class Reader:
    def __init__(self, data):
        self.d, self.at = data, 0

    def take(self, fmt):
        v = struct.unpack_from("<" + fmt, self.d, self.at)
        self.at += struct.calcsize("<" + fmt)
        return v[0]

    def string(self):
        n = self.take("Q")
        s = self.d[self.at:self.at + n].decode("utf-8", "replace")
        self.at += n
        return s

    def value(self, t):
        if t == 8:
            return self.string()
        if t == 9:
            et, n = self.take("I"), self.take("Q")
            return [self.value(et) for _ in range(n)]
        return self.take(SCALAR[t])


def read(path, want_sha):
    data = open(path, "rb").read()
    r = Reader(data)
    assert data[:4] == b"GGUF", path
    r.at = 4
    r.take("I")
    n_tensors, n_kv = r.take("Q"), r.take("Q")
    meta = {}
    for _ in range(n_kv):
        k = r.string()
        meta[k] = r.value(r.take("I"))
    infos = []
    for _ in range(n_tensors):
        name = r.string()
        nd = r.take("I")
        ne = [r.take("Q") for _ in range(nd)]
        infos.append((name, ne, r.take("I"), r.take("Q")))
    align = meta.get("general.alignment", 32)
    base = (r.at + align - 1) // align * align
    out = {}
    for name, ne, t, off in infos:
        tname, bs, ts = TYPES[t]
        n = 1
        for x in ne:
            n *= x
        e = {"type": tname}
        if want_sha:
            e["sha256"] = hashlib.sha256(data[base + off:base + off + n // bs * ts]).hexdigest()
        out[name] = e
    return meta, out


if __name__ == "__main__":
    meta, tensors = read(sys.argv[1], "--sha256" in sys.argv)
    json.dump({"file_type": meta.get("general.file_type"), "tensors": tensors}, sys.stdout, indent=1, sort_keys=True)
    print()
