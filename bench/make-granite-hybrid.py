#!/usr/bin/env python3
"""Writes a random-weight GGUF of IBM Granite-4.0-H-1B's shape (granitehybrid: Mamba-2 layers
with 4 attention layers, dense SwiGLU FFN), as llama.cpp's converter lays such a file out
(conversion/granite.py, 3f545bec), for speed comparisons with llama.cpp; `trident synth` writes
attention and delta-net shapes only. F16 matrices, F32 norms / biases / SSM parameters; quantize
it with llama-quantize or trident quantize. Shape from ibm-granite/granite-4.0-h-1b's config.json:
hidden 1536, 40 layers, attention at 5, 15, 25, 35 (12 heads, 4 KV heads, no RoPE), FFN 4096,
Mamba-2 48 heads of 64 (inner 3072), state 128, 1 group, conv 4, vocabulary 100352, tied output.

Usage: make-granite-hybrid.py OUT.gguf [--layers N]   (needs llama.cpp's gguf-py and numpy)
"""
import sys

import numpy as np
from gguf import GGUFWriter, GGMLQuantizationType

out = sys.argv[1]
n_layer = int(sys.argv[sys.argv.index("--layers") + 1]) if "--layers" in sys.argv else 40
n_embd, n_ff, n_vocab = 1536, 4096, 100352
n_head, n_head_kv, head_dim = 12, 4, 128
d_inner, d_state, n_group, ssm_heads, d_conv = 3072, 128, 1, 48, 4
attn_layers = {i for i in (5, 15, 25, 35) if i < n_layer} or {n_layer - 1}
rng = np.random.default_rng(0)

A = "granitehybrid"
w = GGUFWriter(out, A)
w.add_context_length(2**20)  # no RoPE: the converter's value
w.add_embedding_length(n_embd)
w.add_block_count(n_layer)
w.add_feed_forward_length(n_ff)
w.add_head_count(n_head)
w.add_head_count_kv([n_head_kv if i in attn_layers else 0 for i in range(n_layer)])
w.add_layer_norm_rms_eps(1e-5)
w.add_rope_freq_base(10000.0)
w.add_rope_scaling_finetuned(False)
w.add_attention_scale(0.0078125)
w.add_embedding_scale(12.0)
w.add_residual_scale(0.22)
w.add_logit_scale(6.0)
w.add_ssm_conv_kernel(d_conv)
w.add_ssm_state_size(d_state)
w.add_ssm_group_count(n_group)
w.add_ssm_inner_size(d_inner)
w.add_ssm_time_step_rank(ssm_heads)
w.add_vocab_size(n_vocab)
w.add_tokenizer_model("no_vocab")


def mat(rows, cols):
    return (rng.standard_normal((rows, cols), dtype=np.float32) * 0.02).astype(np.float16)


def vec(n, value=0.0):
    return np.full(n, value, dtype=np.float32)


w.add_tensor("token_embd.weight", mat(n_vocab, n_embd))
w.add_tensor("output_norm.weight", vec(n_embd, 1.0))
conv_dim = d_inner + 2 * n_group * d_state
for i in range(n_layer):
    p = f"blk.{i}."
    w.add_tensor(p + "attn_norm.weight", vec(n_embd, 1.0))
    if i in attn_layers:
        w.add_tensor(p + "attn_q.weight", mat(n_head * head_dim, n_embd))
        w.add_tensor(p + "attn_k.weight", mat(n_head_kv * head_dim, n_embd))
        w.add_tensor(p + "attn_v.weight", mat(n_head_kv * head_dim, n_embd))
        w.add_tensor(p + "attn_output.weight", mat(n_embd, n_head * head_dim))
    else:
        w.add_tensor(p + "ssm_in.weight", mat(2 * d_inner + 2 * n_group * d_state + ssm_heads, n_embd))
        w.add_tensor(p + "ssm_conv1d.weight", (rng.standard_normal((conv_dim, d_conv), dtype=np.float32) * 0.3))
        w.add_tensor(p + "ssm_conv1d.bias", vec(conv_dim))
        w.add_tensor(p + "ssm_dt.bias", vec(ssm_heads, -2.0))
        w.add_tensor(p + "ssm_a", vec(ssm_heads, -1.0).reshape(ssm_heads, 1))
        w.add_tensor(p + "ssm_d", vec(ssm_heads, 1.0).reshape(ssm_heads, 1))
        w.add_tensor(p + "ssm_norm.weight", vec(d_inner, 1.0).reshape(n_group, d_inner // n_group))
        w.add_tensor(p + "ssm_out.weight", mat(n_embd, d_inner))
    w.add_tensor(p + "ffn_norm.weight", vec(n_embd, 1.0))
    w.add_tensor(p + "ffn_gate.weight", mat(n_ff, n_embd))
    w.add_tensor(p + "ffn_up.weight", mat(n_ff, n_embd))
    w.add_tensor(p + "ffn_down.weight", mat(n_embd, n_ff))
w.write_header_to_file()
w.write_kv_data_to_file()
w.write_tensors_to_file()
w.close()
print(f"{out}: granitehybrid, {n_layer} layers (attention at {sorted(attn_layers)})")
