"""Reading and writing trident's skeleton GGUFs (metadata plus the tensor table as the
`trident.skeleton.tensors` string array, no weights) with llama.cpp's gguf-py, for the scripts
that derive test fixtures test-llama-archs has no model for (make-*-skeletons.py)."""
from gguf import GGUFReader, GGUFValueType, GGUFWriter

SKEL = "trident.skeleton.tensors"


def read(path):
    """(fields, tensors): the metadata fields but GGUF's own, and [name, type, dims] per tensor."""
    r = GGUFReader(path)
    fields = [(k, f) for k, f in r.fields.items() if not k.startswith("GGUF.")]
    tensors = [s.split(" ") for s in r.fields[SKEL].contents()]
    return fields, tensors


def write(path, arch, fields, tensors, set_keys, drop_keys=(), src_arch=None):
    """Writes fields with their keys renamed from src_arch to arch (when given), drop_keys left
    out and set_keys (key: (value, type; None keeps the field's type)) replacing or adding values."""
    set_keys = dict(set_keys)
    w = GGUFWriter(path, arch)
    for k, f in fields:
        if k in ("general.architecture", SKEL) or k in drop_keys:
            continue
        if src_arch and k.startswith(src_arch + "."):
            k = arch + k[len(src_arch):]
        v = set_keys.pop(k, (f.contents(), None))[0]
        t = f.types[0]
        if t == GGUFValueType.ARRAY:
            if len(v) == 0:
                continue  # gguf-py writes no empty array; absent reads as the same default
            w.add_key_value(k, v, t, sub_type=f.types[-1])
        else:
            w.add_key_value(k, v, t)
    for k, (v, t) in set_keys.items():
        w.add_key_value(k, v, t)
    w.add_key_value(SKEL, [" ".join(t) for t in tensors], GGUFValueType.ARRAY, sub_type=GGUFValueType.STRING)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
