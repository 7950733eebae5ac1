"""Model compression: magnitude pruning and uniform quantisation (paper Sec. 4.2, Supp. D).

Pure tensor arithmetic; the entropy coder and the byte format live elsewhere.
"""

from .prune import PruneMask, global_magnitude_mask
from .quant import LLRange, QTensor, dequantize, ll_range_grid, quantize, quantize_best, quantize_ll_range

__all__ = ["LLRange", "PruneMask", "QTensor", "dequantize", "global_magnitude_mask", "ll_range_grid", "quantize",
           "quantize_best", "quantize_ll_range"]
