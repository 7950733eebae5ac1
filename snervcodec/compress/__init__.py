"""Model compression: magnitude pruning and uniform quantisation (paper Sec. 4.2, Supp. D).

Pure tensor arithmetic; the entropy coder and the byte format live elsewhere.
"""

from .prune import PruneMask, global_magnitude_mask
from .quant import QTensor, dequantize, minmax_grid, quantize, quantize_best

__all__ = ["PruneMask", "QTensor", "dequantize", "global_magnitude_mask", "minmax_grid", "quantize", "quantize_best"]
