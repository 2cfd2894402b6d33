#!/usr/bin/env python3
"""Writes openelm-layers.gguf and deci-layers.gguf into OUT_DIR: random models whose head counts
and FFN widths differ per layer (the per-layer arrays llama.cpp's loader reads), which
test-llama-archs does not make. deci's layers cover full attention, none (0 heads), linear
attention (0 KV heads), no FFN (the layer is dropped) and GQA. tests/data/archs holds their
skeletons and llama.cpp's logits (scripts/make-arch-fixture.sh OUT_DIR openelm-layers deci-layers).

Usage: make-per-layer-models.py GGUF_PY_DIR OUT_DIR   (GGUF_PY_DIR: llama.cpp's gguf-py; needs numpy)
"""
import sys
sys.path.insert(0, sys.argv[1])
import numpy as np
import gguf

def write(path, arch, n_layer, heads, heads_kv, ffs, extra=None):
    rng = np.random.default_rng(1)
    n_embd, hd, n_vocab = 256, 128, 128
    w = gguf.GGUFWriter(path, arch)
    w.add_uint32(f"{arch}.vocab_size", n_vocab)
    w.add_uint32(f"{arch}.context_length", 128)
    w.add_uint32(f"{arch}.embedding_length", n_embd)
    w.add_uint32(f"{arch}.block_count", n_layer)
    w.add_array(f"{arch}.feed_forward_length", ffs)
    w.add_array(f"{arch}.attention.head_count", heads)
    w.add_array(f"{arch}.attention.head_count_kv", heads_kv)
    w.add_uint32(f"{arch}.attention.key_length", hd)
    w.add_uint32(f"{arch}.attention.value_length", hd)
    w.add_float32(f"{arch}.attention.layer_norm_rms_epsilon", 1e-5)
    w.add_string("tokenizer.ggml.model", "no_vocab")
    def t(name, *shape):  # shape as ggml ne: reversed for numpy
        a = (rng.standard_normal(tuple(reversed(shape))) * 0.05).astype(np.float32)
        w.add_tensor(name, a)
    def ones(name, n):
        w.add_tensor(name, (1 + 0.1 * rng.standard_normal(n)).astype(np.float32))
    t("token_embd.weight", n_embd, n_vocab)
    ones("output_norm.weight", n_embd)
    if arch == "deci":
        t("output.weight", n_embd, n_vocab)
    for l in range(n_layer):
        b = f"blk.{l}."
        nh, nkv, ff = heads[l], heads_kv[l], ffs[l]
        if arch == "openelm":
            ones(b + "attn_norm.weight", n_embd)
            t(b + "attn_qkv.weight", n_embd, (nh + 2 * nkv) * hd)
            ones(b + "attn_q_norm.weight", hd)
            ones(b + "attn_k_norm.weight", hd)
            t(b + "attn_output.weight", nh * hd, n_embd)
        else:
            if nh > 0:
                ones(b + "attn_norm.weight", n_embd)
            if nh > 0 and nkv == 0:
                t(b + "attn_output.weight", n_embd, n_embd)
            elif nkv > 0:
                t(b + "attn_q.weight", n_embd, nh * hd)
                t(b + "attn_k.weight", n_embd, nkv * hd)
                t(b + "attn_v.weight", n_embd, nkv * hd)
                t(b + "attn_output.weight", nh * hd, n_embd)
        if ff > 0:
            ones(b + "ffn_norm.weight", n_embd)
            t(b + "ffn_gate.weight", n_embd, ff)
            t(b + "ffn_down.weight", ff, n_embd)
            t(b + "ffn_up.weight", n_embd, ff)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()

out = sys.argv[2]
write(out + "/openelm-layers.gguf", "openelm", 3, [2, 1, 4], [2, 1, 2], [384, 256, 128])
# deci: full attention, no attention, linear attention, a layer without FFN, GQA
write(out + "/deci-layers.gguf", "deci", 5, [2, 0, 2, 2, 4], [2, 0, 0, 1, 2], [384, 256, 128, 0, 192])
