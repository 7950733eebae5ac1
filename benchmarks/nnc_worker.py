"""Code a decoder's tensors with NNCodec (the ISO/IEC 15938-17 reference) at several QPs.

Runs in NNCodec's own environment, never in ours (it needs numpy<2); it imports neither torch nor
snervcodec. :mod:`nncodec_compare` calls it:

    NNC_PYTHON benchmarks/nnc_worker.py IN.npz OUT.npz QP [QP ...]

IN.npz holds float32 tensors by name; OUT.npz gets each QP's reconstruction as ``"<qp>/<name>"``;
stdout gets one JSON object: the bitstream bytes per QP. Integer (int32) tensors are coded losslessly
(NNCodec's "skip" approximation: DeepCABAC on the integers as they are), whatever the QP. NNCodec
runs at its defaults (dependent quantisation, parameter optimisation, DeepCABAC); 1-D tensors
(biases) are "non-weight" parameters there, coded at its default ``nonweight_qp`` (-75).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import json
import sys
from unittest import mock

import numpy as np

# nncodec's package imports its example applications (datasets, model zoos, a federated-learning
# client): stand-ins for those libraries, which the coding functions never call.
_UNUSED = ("torchvision", "torchmetrics", "cv2", "ptflops", "h5py", "wandb", "sklearn", "tensorflow",
           "transformers", "flwr", "datasets", "timm")


class _Absent(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path, target=None):
        if name.split(".")[0] in _UNUSED:
            return importlib.machinery.ModuleSpec(name, self, is_package=True)
        return None

    def create_module(self, spec):
        m = mock.MagicMock(name=spec.name)
        m.__path__, m.__spec__ = [], spec
        return m

    def exec_module(self, module):
        pass


def main(argv: list[str]) -> None:
    src, dst, qps = argv[0], argv[1], [int(q) for q in argv[2:]]
    sys.meta_path.insert(0, _Absent())
    from nncodec import nnc

    with np.load(src) as z:
        params = {k: np.ascontiguousarray(z[k]) for k in z.files}
    if any(v.dtype not in (np.float32, np.int32) for v in params.values()):
        raise SystemExit("tensors must be float32 or int32")
    sizes, out = {}, {}
    for qp in qps:
        bs = nnc.compress(params, bitstream_path=None, qp=qp, return_bitstream=True, verbose=False)
        rec = nnc.decompress(bytearray(bs), verbose=False)
        rec = rec[0] if isinstance(rec, tuple) else rec
        sizes[str(qp)] = len(bs)
        for k in params:
            out[f"{qp}/{k}"] = np.asarray(rec[k], dtype=params[k].dtype).reshape(params[k].shape)
    np.savez(dst, **out)
    print(json.dumps(sizes))


if __name__ == "__main__":
    main(sys.argv[1:])
