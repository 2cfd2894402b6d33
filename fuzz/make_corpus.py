#!/usr/bin/env python3
"""Writes the seed corpora in fuzz/corpus/TARGET/: a tiny valid llama GGUF, the shapes of the
public GGUF CVEs and issue 19's reproducers (small: each file a few KB), a tiny safetensors file
and its broken variants, HF JSON files (first byte picks the file, see hf_json.cpp) and tokenizer
texts. Run from the repository root: python3 fuzz/make_corpus.py"""
import json
import os
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
U8, I8, U16, I16, U32, I32, F32, BOOL, STR, ARR, U64, I64, F64 = range(13)


def s(text):
    b = text.encode()
    return struct.pack("<Q", len(b)) + b


def kv(key, typ, payload):
    return s(key) + struct.pack("<I", typ) + payload


def arr(elem, items_bytes, count):
    return struct.pack("<IQ", elem, count) + items_bytes


def gguf(kvs, tensors, align=32, n_tensors=None, n_kv=None, data=None):
    """tensors: (name, dims, ggml_type, nbytes, offset or None)"""
    out = b"GGUF" + struct.pack("<I", 3)
    out += struct.pack("<QQ", len(tensors) if n_tensors is None else n_tensors, len(kvs) if n_kv is None else n_kv)
    out += b"".join(kvs)
    off, blobs = 0, []
    for name, dims, typ, nbytes, fixed in tensors:
        off = (off + align - 1) // align * align
        at = off if fixed is None else fixed
        out += s(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<q", d) for d in dims)
        out += struct.pack("<IQ", typ, at)
        blobs.append((at, nbytes))
        off = at + nbytes
    out += b"\0" * ((align - len(out) % align) % align)
    if data is None:
        size = max([a + n for a, n in blobs if a + n < 1 << 20] + [0])
        data = bytes((i * 37) & 0x3F for i in range(size))
    return out + data


def tiny_llama(extra_kvs=(), replace=None):
    e, v, ff = 32, 16, 16
    keys = {
        "general.architecture": kv("general.architecture", STR, s("llama")),
        "llama.embedding_length": kv("llama.embedding_length", U32, struct.pack("<I", e)),
        "llama.block_count": kv("llama.block_count", U32, struct.pack("<I", 1)),
        "llama.attention.head_count": kv("llama.attention.head_count", U32, struct.pack("<I", 2)),
        "llama.attention.head_count_kv": kv("llama.attention.head_count_kv", U32, struct.pack("<I", 1)),
        "llama.feed_forward_length": kv("llama.feed_forward_length", U32, struct.pack("<I", ff)),
        "llama.context_length": kv("llama.context_length", U32, struct.pack("<I", 64)),
        "llama.attention.layer_norm_rms_epsilon": kv("llama.attention.layer_norm_rms_epsilon", F32, struct.pack("<f", 1e-5)),
        "tokenizer.ggml.model": kv("tokenizer.ggml.model", STR, s("llama")),
    }
    toks = ["<unk>", "<s>", "</s>", "\u2581", "a", "b", "c", "\u2581a", "ab", "bc", "abc", "\u2581ab", "d", "e", "<0x0A>", "f"]
    keys["tokenizer.ggml.tokens"] = kv("tokenizer.ggml.tokens", ARR, arr(STR, b"".join(s(t) for t in toks), len(toks)))
    keys["tokenizer.ggml.scores"] = kv("tokenizer.ggml.scores", ARR, arr(F32, b"".join(struct.pack("<f", -i) for i in range(v)), v))
    types = [2, 3, 3] + [1] * 11 + [6, 1]
    keys["tokenizer.ggml.token_type"] = kv("tokenizer.ggml.token_type", ARR, arr(I32, b"".join(struct.pack("<i", t) for t in types), v))
    for k, val in (replace or {}).items():
        keys[k] = val
    f32 = lambda *d: (d, 0, 4 * eval("*".join(map(str, d))))
    shapes = [("token_embd.weight", (e, v)), ("output_norm.weight", (e,)), ("blk.0.attn_norm.weight", (e,)),
              ("blk.0.attn_q.weight", (e, e)), ("blk.0.attn_k.weight", (e, 16)), ("blk.0.attn_v.weight", (e, 16)),
              ("blk.0.attn_output.weight", (e, e)), ("blk.0.ffn_norm.weight", (e,)), ("blk.0.ffn_gate.weight", (e, ff)),
              ("blk.0.ffn_up.weight", (e, ff)), ("blk.0.ffn_down.weight", (ff, e))]
    tensors = []
    for name, dims in shapes:
        n = 4
        for d in dims:
            n *= d
        tensors.append((name, dims, 0, n, None))
    return gguf(list(keys.values()) + list(extra_kvs), tensors)


def write(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def gguf_seeds():
    seeds = {"tiny-llama.gguf": tiny_llama()}
    # CVE-2025-53630 / CVE-2026-27940: tensor sizes that overflow when summed or padded.
    big = 1 << 62
    seeds["cve-2026-27940-sum-overflow.gguf"] = gguf([], [("a", (big,), 24, big, 0), ("b", (big,), 24, big, 0)])
    seeds["cve-2025-53630-pad-overflow.gguf"] = gguf([], [("a", ((1 << 64) - 1 >> 1,), 24, 0, 0)])
    # CVE-2026-33298: dimension product overflow.
    seeds["cve-2026-33298-dims.gguf"] = gguf([], [("a", (1 << 62, 4, 1, 1), 0, 0, 0)])
    # CVE-2025-49847: a huge token string length.
    seeds["cve-2025-49847-string.gguf"] = b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + s("tokenizer.ggml.tokens") + \
        struct.pack("<IIQ", ARR, STR, 1) + struct.pack("<Q", (1 << 63) + 5) + b"x" * 16
    seeds["array-count.gguf"] = b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + s("big") + struct.pack("<IIQ", ARR, U8, 10 ** 8) + b"\0" * 64
    seeds["nested-arrays.gguf"] = gguf([kv("n", ARR, arr(ARR, arr(ARR, arr(U8, b"\1", 1), 1), 1))], [])
    seeds["alignment-zero.gguf"] = gguf([kv("general.alignment", U32, struct.pack("<I", 0))], [])
    seeds["offset-beyond-file.gguf"] = gguf([], [("a", (8,), 0, 32, 1 << 40)])
    # Issue 19: hostile hyper-parameters on an otherwise valid model.
    seeds["heads-overflow.gguf"] = tiny_llama(replace={
        "llama.attention.head_count": kv("llama.attention.head_count", U64, struct.pack("<Q", 1 << 31)),
        "llama.attention.head_count_kv": kv("llama.attention.head_count_kv", U64, struct.pack("<Q", 1 << 31))},
        extra_kvs=[kv("llama.attention.key_length", U64, struct.pack("<Q", 1 << 32))])
    seeds["block-count.gguf"] = tiny_llama(replace={"llama.block_count": kv("llama.block_count", U64, struct.pack("<Q", 1 << 32))})
    seeds["nan-eps.gguf"] = tiny_llama(replace={"llama.attention.layer_norm_rms_epsilon": kv(
        "llama.attention.layer_norm_rms_epsilon", F32, struct.pack("<f", float("nan")))})
    seeds["arch-newline.gguf"] = tiny_llama(replace={"general.architecture": kv("general.architecture", STR, s("lla\nma"))})
    for name, data in seeds.items():
        write("gguf_load", name, data)
        write("gguf_roundtrip", name, data)


def safetensors(header, data, raw_len=None):
    text = json.dumps(header).encode() if isinstance(header, dict) else header
    return struct.pack("<Q", len(text) if raw_len is None else raw_len) + text + data


def safetensors_seeds():
    ok = {"a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
          "b": {"dtype": "BF16", "shape": [4], "data_offsets": [16, 24]}, "__metadata__": {"format": "pt"}}
    write("safetensors_header", "ok.safetensors", safetensors(ok, bytes(24)))
    write("safetensors_header", "overlap.safetensors", safetensors(
        {"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}, "b": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]}}, bytes(16)))
    write("safetensors_header", "header-len.safetensors", safetensors(ok, bytes(24), raw_len=1 << 40))
    write("safetensors_header", "nested.safetensors", safetensors(b'{"__metadata__":' + b"[" * 200 + b"]" * 200 + b"}", b""))
    write("safetensors_header", "shape-overflow.safetensors", safetensors(
        {"a": {"dtype": "F64", "shape": [1 << 62, 4], "data_offsets": [0, 0]}}, b""))


def hf_seeds():
    here = os.path.dirname(os.path.abspath(__file__))
    src = open(os.path.join(here, "hf_json.cpp")).read()
    write("hf_json", "config", b"\0" + json.dumps({"architectures": ["LlamaForCausalLM"], "hidden_size": 64,
        "num_hidden_layers": 1, "num_attention_heads": 8, "intermediate_size": 172, "vocab_size": 8,
        "text_config": {"rope_theta": 10000.0}}).encode())
    write("hf_json", "config-nested", b"\0" + b'{"architectures":["LlamaForCausalLM"],"hidden_size":' + b"[" * 100 + b"1" + b"]" * 100 + b"}")
    write("hf_json", "tokenizer", b"\1" + json.dumps({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2},
        "merges": ["a b", "x y"]}, "added_tokens": [{"id": 3, "content": "<s>", "special": True}]}).encode())
    write("hf_json", "tokenizer-config", b"\2" + json.dumps({"chat_template": "{{ messages }}", "bos_token": {"content": "<s>"}}).encode())
    assert "LLVMFuzzerTestOneInput" in src


def tokenizer_seeds():
    texts = ["Once upon a time", " Hello, world! 123\n\n", "\u00e9\u4e2d\u6587 emoji \U0001F600", "<s> <|im_start|>user\n",
             "\xff\xfe invalid", "a" * 300, "   \t\t  ", ""]
    for i, t in enumerate(texts):
        data = t.encode("utf-8", "surrogatepass") if "\xff" not in t else b"\xff\xfe\x80 invalid"
        write("tokenizer", f"text-{i}-spm", bytes([0]) + data)
        write("tokenizer", f"text-{i}-bpe", bytes([5]) + data)


def recurrent_state_seeds():
    # The stack of fuzz/recurrent_state.cpp: delta net (conv 48 x width 4, state 2 x 8 x 16),
    # attention (nothing), Mamba-2 (conv 64 x width 4, state 2 x 16 x 16); floats i * 0.001.
    shapes = [(48, 4, 2, 8, 16), (0, 0, 0, 0, 0), (64, 4, 2, 16, 16)]
    n = sum(max(w - 1, 0) * c + h * r * k for c, w, h, r, k in shapes)

    def stream(magic=b"TRIDREC1", version=1, n_layer=3, layers=shapes):
        head = magic + struct.pack("<II", version, n_layer) + b"".join(struct.pack("<5Q", *l) for l in layers)
        return head + b"".join(struct.pack("<f", i * 0.001) for i in range(n))

    valid = stream()
    write("recurrent_state", "valid", valid)
    write("recurrent_state", "empty", b"")
    write("recurrent_state", "header-only", valid[:16])
    write("recurrent_state", "truncated", valid[:-3])
    write("recurrent_state", "one-byte-more", valid + b"\0")
    write("recurrent_state", "version-2", stream(version=2))
    write("recurrent_state", "two-layers", stream(n_layer=2))
    write("recurrent_state", "other-shape", stream(layers=shapes[:2] + [(64, 4, 2, 16, 8)]))
    write("recurrent_state", "bad-magic", stream(magic=b"TRIDSEQ1"))


if __name__ == "__main__":
    gguf_seeds()
    safetensors_seeds()
    hf_seeds()
    tokenizer_seeds()
    recurrent_state_seeds()
