#!/usr/bin/env python3
"""Writes skeletons with MoE layers of families whose test-llama-archs models are dense
(tests/data/archs/README.md).

nemotron_h: from the nemotron_h_moe-dense skeleton (layers: attention, Mamba-2, FFN), the FFN
layer becomes a mixture of 4 ungated ReLU² experts (2 used, 48 wide) with a sigmoid router,
selection bias, normalized and scaled weights, and one ungated shared expert (96 wide).
nemotron_h_moe-latent runs the experts in a 128-wide latent space (moe_latent_size,
ffn_latent_down / ffn_latent_up); nemotron_h-experts runs them at n_embd; nemotron_h_moe-mtp is
nemotron_h_moe-latent plus a trailing multi-token-prediction block, which llama.cpp loads and does
not run (its logits are nemotron_h_moe-latent's).

jamba-moe: from the jamba-dense skeleton (attention, Mamba), 4 blocks: attention + dense FFN,
Mamba + MoE, Mamba + dense FFN, attention + MoE, as real Jamba files mix them (a layer is a
mixture when it has ffn_gate_inp): 4 gated SiLU experts of feed_forward_length, 2 used.

Usage: PYTHONPATH=LLAMA/gguf-py make-moe-skeletons.py DIR   (DIR: tests/data/archs)"""
import sys

from gguf import GGUFValueType
from skeleton_gguf import read, write

N_EXPERT, N_USED, N_FF_EXP, N_FF_SHEXP = 4, 2, 48, 96
U32, F32, BOOL = GGUFValueType.UINT32, GGUFValueType.FLOAT32, GGUFValueType.BOOL


def variant(src, dst, arch, latent):
    fields, tensors = read(src)
    src_arch = dict(fields)["general.architecture"].contents()
    n_embd = int(dict(fields)[src_arch + ".embedding_length"].contents())
    dm = latent or n_embd
    moe = [
        ("ffn_gate_inp.weight", [n_embd, N_EXPERT]), ("exp_probs_b.bias", [N_EXPERT]),
        ("ffn_up_exps.weight", [dm, N_FF_EXP, N_EXPERT]), ("ffn_down_exps.weight", [N_FF_EXP, dm, N_EXPERT]),
        ("ffn_up_exps.scale", [N_EXPERT]), ("ffn_down_exps.scale", [N_EXPERT]),
        ("ffn_up_shexp.weight", [n_embd, N_FF_SHEXP]), ("ffn_down_shexp.weight", [N_FF_SHEXP, n_embd]),
        ("ffn_up_shexp.scale", [1]), ("ffn_down_shexp.scale", [1]),
    ]
    if latent:
        moe += [("ffn_latent_down.weight", [n_embd, dm]), ("ffn_latent_up.weight", [dm, n_embd])]
    # Layer 2's dense FFN tensors give way to the mixture's.
    out = [t for t in tensors if not (t[0].startswith("blk.2.ffn_"))]
    out += [[f"blk.2.{name}", "f32", ",".join(str(x) for x in ne)] for name, ne in moe]
    p = arch + "."
    set_keys = {
        p + "feed_forward_length": ([0, 0, N_FF_EXP], None),
        p + "expert_count": (N_EXPERT, None), p + "expert_used_count": (N_USED, None),
        p + "expert_feed_forward_length": (N_FF_EXP, None),
        p + "expert_shared_feed_forward_length": (N_FF_SHEXP, None), p + "expert_shared_count": (1, None),
        p + "expert_weights_norm": (True, None), p + "expert_weights_scale": (2.5, None),
    }
    if latent:
        set_keys[p + "moe_latent_size"] = (latent, U32)
    write(dst, arch, fields, out, set_keys, src_arch=src_arch)


def mtp_variant(src, dst):
    """src's model plus one trailing multi-token-prediction block (nextn_predict_layers 1), as
    real nemotron_h_moe files carry: attention and a mixture behind the nextn input fusion."""
    fields, tensors = read(src)
    get = dict(fields)
    arch = get["general.architecture"].contents()
    p = arch + "."
    n_embd = int(get[p + "embedding_length"].contents())
    dm = int(get[p + "moe_latent_size"].contents())
    n_q = int(get[p + "attention.key_length"].contents()) * 2
    mtp = [
        ("nextn.enorm.weight", [n_embd]), ("nextn.hnorm.weight", [n_embd]),
        ("nextn.eh_proj.weight", [2 * n_embd, n_embd]), ("nextn.shared_head_norm.weight", [n_embd]),
        ("attn_norm.weight", [n_embd]), ("attn_q.weight", [n_embd, n_q]), ("attn_k.weight", [n_embd, n_q]),
        ("attn_v.weight", [n_embd, n_q]), ("attn_output.weight", [n_q, n_embd]),
        ("post_attention_norm.weight", [n_embd]),
        ("ffn_gate_inp.weight", [n_embd, N_EXPERT]), ("exp_probs_b.bias", [N_EXPERT]),
        ("ffn_up_exps.weight", [dm, N_FF_EXP, N_EXPERT]), ("ffn_down_exps.weight", [N_FF_EXP, dm, N_EXPERT]),
        ("ffn_up_shexp.weight", [n_embd, N_FF_SHEXP]), ("ffn_down_shexp.weight", [N_FF_SHEXP, n_embd]),
    ]
    out = tensors + [[f"blk.3.{name}", "f32", ",".join(str(x) for x in ne)] for name, ne in mtp]
    # Per-layer arrays cover the MTP block too (llama.cpp reads them over block_count).
    set_keys = {p + "block_count": (4, None), p + "nextn_predict_layers": (1, None)}
    extra = {"feed_forward_length": N_FF_EXP, "attention.head_count": 2, "attention.head_count_kv": 2,
             "attention.recurrent_layers": 0, "swiglu_clamp_exp": 0.0, "swiglu_clamp_shexp": 0.0}
    for k, v in extra.items():
        set_keys[p + k] = (list(get[p + k].contents()) + [v], None)
    write(dst, arch, fields, out, set_keys)


def jamba_variant(src, dst):
    fields, tensors = read(src)
    get = dict(fields)
    p = "jamba."
    n_embd = int(get[p + "embedding_length"].contents())
    n_ff = int(get[p + "feed_forward_length"].contents())
    moe = [("ffn_gate_inp.weight", [n_embd, N_EXPERT]), ("ffn_gate_exps.weight", [n_embd, n_ff, N_EXPERT]),
           ("ffn_up_exps.weight", [n_embd, n_ff, N_EXPERT]), ("ffn_down_exps.weight", [n_ff, n_embd, N_EXPERT])]
    # Block 0 is attention, block 1 Mamba: they become blocks 0 and 3, and 1 and 2; 1 and 3 are MoE.
    out = [t for t in tensors if not t[0].startswith("blk.")]
    for layer, src_layer, is_moe in ((0, 0, False), (1, 1, True), (2, 1, False), (3, 0, True)):
        for name, typ, ne in tensors:
            if not name.startswith(f"blk.{src_layer}."):
                continue
            base = name.split(".", 2)[2]
            if is_moe and base.startswith("ffn_") and not base.startswith("ffn_norm"):
                continue
            out.append([f"blk.{layer}.{base}", typ, ne])
        if is_moe:
            out += [[f"blk.{layer}.{name}", "f32", ",".join(str(x) for x in ne)] for name, ne in moe]
    heads = int(get[p + "attention.head_count"].contents()[0])
    set_keys = {
        p + "block_count": (4, None), p + "expert_count": (N_EXPERT, None), p + "expert_used_count": (N_USED, None),
        p + "attention.head_count": ([heads, 0, 0, heads], None),
        p + "attention.head_count_kv": ([heads, 0, 0, heads], None),
        p + "attention.recurrent_layers": ([0, 1, 1, 0], None),
        p + "swiglu_clamp_exp": ([0.0] * 4, None), p + "swiglu_clamp_shexp": ([0.0] * 4, None),
    }
    write(dst, "jamba", fields, out, set_keys)


d = sys.argv[1]
variant(f"{d}/nemotron_h_moe-dense.skel.gguf", f"{d}/nemotron_h_moe-latent.skel.gguf", "nemotron_h_moe", 128)
variant(f"{d}/nemotron_h_moe-dense.skel.gguf", f"{d}/nemotron_h-experts.skel.gguf", "nemotron_h", 0)
mtp_variant(f"{d}/nemotron_h_moe-latent.skel.gguf", f"{d}/nemotron_h_moe-mtp.skel.gguf")
jamba_variant(f"{d}/jamba-dense.skel.gguf", f"{d}/jamba-moe.skel.gguf")
