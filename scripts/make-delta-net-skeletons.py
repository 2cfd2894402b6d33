#!/usr/bin/env python3
"""Writes delta-net skeletons test-llama-archs has no model for (tests/data/archs/README.md):
from the qwen35-dense and qwen3next-moe skeletons, 4 value heads over 2 key heads (so value
heads share key heads: qwen35 tiles them, qwen3next interleaves them), 4 blocks with the
interval rule (no attention.recurrent_layers: layers 0-2 delta net, 3 attention), and for
qwen3next the older ssm_in layout instead of attn_qkv + attn_gate.

Usage: PYTHONPATH=LLAMA/gguf-py make-delta-net-skeletons.py DIR   (DIR: tests/data/archs)"""
import sys

import numpy as np
from skeleton_gguf import read, write

N_V, N_LAYER = 4, 4


def variant(src, dst, legacy_in):
    fields, tensors = read(src)
    get = dict(fields)
    arch = get["general.architecture"].contents()
    d_state = int(get[arch + ".ssm.state_size"].contents())
    n_k = int(get[arch + ".ssm.group_count"].contents())
    n_embd = int(get[arch + ".embedding_length"].contents())
    kd, vd = n_k * d_state, N_V * d_state
    shapes = {
        "ssm_in.weight": [n_embd, 2 * kd + 2 * vd], "attn_qkv.weight": [n_embd, 2 * kd + vd],
        "attn_gate.weight": [n_embd, vd], "ssm_conv1d.weight": [4, 2 * kd + vd], "ssm_dt.bias": [N_V],
        "ssm_a": [N_V], "ssm_beta.weight": [n_embd, N_V], "ssm_alpha.weight": [n_embd, N_V],
        "ssm_ba.weight": [n_embd, 2 * N_V], "ssm_out.weight": [vd, n_embd],
    }
    # Per-layer tensors of layer 0 (delta net) and 1 (attention) become layers 0-2 and 3.
    out = [t for t in tensors if not t[0].startswith("blk.")]
    for layer, src_layer in ((0, 0), (1, 0), (2, 0), (3, 1)):
        for name, typ, ne in tensors:
            if not name.startswith(f"blk.{src_layer}."):
                continue
            base = name.split(".", 2)[2]
            if legacy_in and (base.startswith("attn_qkv.") or base.startswith("attn_gate.")):
                continue
            if base in shapes:
                ne = ",".join(str(x) for x in shapes[base])
            out.append([f"blk.{layer}.{base}", typ, ne])
    set_keys = {arch + ".ssm.time_step_rank": (N_V, None), arch + ".ssm.inner_size": (vd, None),
                arch + ".block_count": (N_LAYER, None)}
    write(dst, arch, fields, out, set_keys, {arch + ".attention.recurrent_layers"})


d = sys.argv[1]
variant(f"{d}/qwen35-dense.skel.gguf", f"{d}/qwen35-vheads4.skel.gguf", False)
variant(f"{d}/qwen3next-moe.skel.gguf", f"{d}/qwen3next-ssmin-vheads4.skel.gguf", True)
