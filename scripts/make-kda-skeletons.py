#!/usr/bin/env python3
"""Writes a kimi-linear skeleton test-llama-archs has no model for (tests/data/archs/README.md):
its kimi-linear model has one head everywhere, so kimi-linear-heads2 gives the latent-attention
layer 2 heads over the one latent (head_count_kv 1) and the Kimi delta attention layer 2 heads of
64 (kda.head_dim), so that the per-head maps (q/k/v heads, A and the norms per head, the
absorbed k_b / v_b per head) are tested.

Usage: PYTHONPATH=LLAMA/gguf-py make-kda-skeletons.py DIR   (DIR: tests/data/archs)"""
import sys

from skeleton_gguf import read, write

N_HEAD, HEAD_DIM = 2, 64


def heads2(src, dst):
    fields, tensors = read(src)
    get = dict(fields)
    p = "kimi-linear."
    n_embd = int(get[p + "embedding_length"].contents())
    k_mla, v_mla = int(get[p + "attention.key_length_mla"].contents()), int(get[p + "attention.value_length_mla"].contents())
    rank, n_rot = int(get[p + "attention.kv_lora_rank"].contents()), int(get[p + "rope.dimension_count"].contents())
    vd = N_HEAD * HEAD_DIM
    shapes = {
        "blk.0.attn_q.weight": [n_embd, N_HEAD * k_mla], "blk.0.attn_k_b.weight": [k_mla - n_rot, rank, N_HEAD],
        "blk.0.attn_v_b.weight": [rank, v_mla, N_HEAD], "blk.0.attn_output.weight": [N_HEAD * v_mla, n_embd],
        "blk.1.attn_q.weight": [n_embd, vd], "blk.1.attn_k.weight": [n_embd, vd], "blk.1.attn_v.weight": [n_embd, vd],
        "blk.1.attn_q.bias": [vd], "blk.1.attn_k.bias": [vd], "blk.1.attn_v.bias": [vd],
        "blk.1.ssm_conv1d_q.weight": [4, 1, vd], "blk.1.ssm_conv1d_k.weight": [4, 1, vd],
        "blk.1.ssm_conv1d_v.weight": [4, 1, vd], "blk.1.ssm_f_a.weight": [n_embd, HEAD_DIM],
        "blk.1.ssm_f_b.weight": [HEAD_DIM, vd], "blk.1.ssm_g_a.weight": [n_embd, HEAD_DIM],
        "blk.1.ssm_g_b.weight": [HEAD_DIM, vd], "blk.1.ssm_beta.weight": [n_embd, N_HEAD], "blk.1.ssm_a": [1, N_HEAD],
        "blk.1.ssm_dt.bias": [vd], "blk.1.ssm_norm.weight": [HEAD_DIM], "blk.1.attn_output.weight": [vd, n_embd],
    }
    out = [[name, typ, ",".join(str(x) for x in shapes[name]) if name in shapes else ne] for name, typ, ne in tensors]
    set_keys = {p + "attention.head_count": ([N_HEAD, 0], None), p + "attention.head_count_kv": ([1, 0], None),
                p + "kda.head_dim": (HEAD_DIM, None)}
    write(dst, "kimi-linear", fields, out, set_keys)


d = sys.argv[1]
heads2(f"{d}/kimi-linear-moe.skel.gguf", f"{d}/kimi-linear-heads2.skel.gguf")
