"""The command line's option groups: which part of the input, which network and how big, how long
and where to train, compression, overwriting, and decoder limits (each option's help is its
documentation)."""

from __future__ import annotations

import functools

import click

from ..requests import ENTROPY_MODELS, PIPELINES

from .types import DURATION, PARAM_COUNT, POSITIVE_FLOAT, STRIDES


def video_options(f):
    """Which part of the input to use."""
    opts = [
        click.option("--frames", metavar="START:END", help="Frames to use, END exclusive (e.g. 0:32). Default: all."),
        click.option("--crop", metavar="HxW", help="Centre-crop every frame to HxW before resizing (e.g. 640x1280)."),
        click.option("--size", metavar="HxW", help="Resize every frame to HxW (e.g. 192x384). Default: keep the size."),
        click.option("--resize", type=click.Choice(["bicubic", "area"]), default="bicubic", show_default=True,
                     help="Resampling filter for --size."),
        click.option("--fps", type=POSITIVE_FLOAT, metavar="RATE",
                     help="Frame rate to store (default: the source's; image sequences: 25)."),
    ]
    return functools.reduce(lambda g, o: o(g), reversed(opts), f)


def overwrite_options(f):
    """ffmpeg's -y / -n: an existing output file is replaced only when asked (devices, FIFOs and
    stdout are written into either way)."""
    opts = [
        click.option("-y", "--overwrite", "overwrite", flag_value=True, default=None,
                     help="Replace an existing output file (atomically, its permissions kept)."),
        click.option("-n", "--no-overwrite", "overwrite", flag_value=False,
                     help="Never replace an existing output file (the default: it is an error)."),
    ]
    return functools.reduce(lambda g, o: o(g), reversed(opts), f)


def model_options(f):
    """Which network and how big."""
    from ..models import MODELS

    opts = [
        click.option("--model", type=click.Choice(list(MODELS)), default="snerv-b", show_default=True,
                     help="Network: snerv-b (SNeRV backbone), snerv-t / snerv-t-2d (temporal extension: "
                          "better frame interpolation, 3D or 2D convolutions), snerv-g (SNeRV-B plus learned "
                          "grid encodings, after HiNeRV), or hnerv (the HNeRV baseline)."),
        click.option("--c1", type=click.IntRange(1, 4096),
                     help="Width of the first up-sampling block (sets the model size)."),
        click.option("--n-rb", type=click.IntRange(0, 64),
                     help="Residual blocks per MFU fusion block (paper: 2-10). Default: the paper's table for the "
                          "model size (2 with --c1); 0 for rdo encodes sized by --bpp or --params."),
        click.option("--params", type=PARAM_COUNT, metavar="N",
                     help="Size the decoder to about N parameters (e.g. 580k, 3M) instead of giving --c1."),
        click.option("--strides", type=STRIDES, metavar="S,S,S,S,S",
                     help="Up-sampling strides. Default: chosen from the frame size (padding, never cropping)."),
        click.option("--emb-cells", type=click.IntRange(1, 4096), metavar="N",
                     help="Embedding grid cells the stride choice aims at (default for the rdo pipeline: cells of "
                          "about 16x16 pixels, 64 to 256 of them, e.g. 9x16 at 144x256, 12x24 at 192x384, which "
                          "carry motion and detail far better on the dev set; the paper's 8, a 2x4 grid, for "
                          "--pipeline paper and fit). Ignored with --strides."),
        click.option("--emb-channels", type=click.IntRange(1, 64), metavar="C",
                     help="Channels of each embedding cell (default 16; with --bpp, rate control gives the "
                          "embeddings 8 or 4 when 16 would take over half the budget)."),
        click.option("--t-scale", type=click.IntRange(1, 64), metavar="K",
                     help="snerv-t only: temporal embeddings on the UB2 grid / K (2, 4, 8 = 3x20x40, 3x10x20, "
                          "3x5x10 at 640x1280; default 2; 1 = 3x40x80, more values per frame, a smaller "
                          "generalisation gap in interpolation; rate control may coarsen it)."),
        click.option("--grid-share", type=click.FloatRange(0.0, 0.9, min_open=True, max_open=True), metavar="F",
                     help="snerv-g only: the share of the decoder's parameters its learned grids hold (default "
                          "0.15; docs/usage.md \"Grid encodings\")."),
    ]
    return functools.reduce(lambda g, o: o(g), reversed(opts), f)


def train_options(f):
    """How long and where to train."""
    from ..training import PRESETS
    from ..training.config import COMPILE_MODES

    opts = [
        click.option("--preset", type=click.Choice(list(PRESETS)), default="fast", show_default=True,
                     help="Training budget: fast=100, medium=300 (the paper's), slow=1200 epochs."),
        click.option("--epochs", type=click.IntRange(0), help="Training epochs (overrides the preset)."),
        click.option("--steps", type=click.IntRange(1, 10**9), metavar="N",
                     help="Training steps (batches) instead of epochs: the epochs become N / (frames / batch), "
                          "so a short clip gets as many updates as a long one (overrides --epochs)."),
        click.option("--lr", type=POSITIVE_FLOAT, metavar="LR",
                     help="Peak learning rate (default: 4e-3 for the rdo pipeline, less for decoders above 400K "
                          "parameters; the paper's 1e-3 for --pipeline paper and for fit)."),
        click.option("--tune", type=click.Choice(["psnr", "ssim", "paper", "mixed"]),
                     help="The distortion trained on, as x264's --tune: psnr (MSE), ssim (mostly 1 - SSIM), paper "
                          "(0.7 L1 + 0.3 (1 - SSIM), the paper's) or mixed (MSE + the paper's). Default: mixed (on "
                          "the dev set: better PSNR and MS-SSIM on 6 of 8 clips); --pipeline paper and fit train on "
                          "the paper's loss."),
        click.option("--mse-start", type=click.FloatRange(0.0, 1.0), metavar="F",
                     help="Train the first F of the fit phase on MSE alone, then on --tune's distortion: breaks a "
                          "young network out of a flat image on fast motion; a network still below the clip's mean "
                          "frame then starts again from a fresh initialisation, once (default: 0.4 for the rdo "
                          "pipeline, 0 for fit; not with --pipeline paper)."),
        click.option("--batch-size", type=click.IntRange(1),
                     help="Frames per step (default: 1 on a CPU, 8 on CUDA, measured; docs/usage.md \"Batch size\"). "
                          "The learning rate grows with the square root of the batch."),
        click.option("--time-limit", type=DURATION, metavar="DURATION",
                     help="A wall-clock budget instead of a number of epochs (e.g. 10m, 90s, 1h30m): the "
                          "learning-rate schedule is laid out over the time and every phase gets its share. "
                          "For encode it bounds the whole command (reading, coding and the measuring decode "
                          "keep 3%); segments share it by their frames."),
        click.option("--device", type=click.Choice(["auto", "cpu", "cuda", "mps"]), default="auto", show_default=True,
                     help="Where to train; auto prefers CUDA, then MPS, then the CPU."),
        click.option("--precision", type=click.Choice(["auto", "fp32", "bf16"]), default="auto", show_default=True,
                     help="auto: bf16 autocast on CUDA and on CPUs with bf16 units (measured faster), else fp32."),
        click.option("--compile", "compile_mode", type=click.Choice(COMPILE_MODES),
                     default="off", show_default=True,
                     help="torch.compile the training step (encoder, decoder, loss, quantised weights): default "
                          "fuses kernels, reduce-overhead adds CUDA graphs, max-autotune also searches kernels. "
                          "Compiling takes tens of seconds up to minutes, counted in --time-limit; on a 2-core "
                          "CPU it did not pay (docs/design-notes.md \"Compilation\")."),
        click.option("--seed", type=int, default=0, show_default=True,
                     help="Random seed (training is deterministic per device)."),
        click.option("--quiet", "-q", is_flag=True, help="No progress bar."),
    ]
    return functools.reduce(lambda g, o: o(g), reversed(opts), f)


def compression_options(f):
    """Pruning, quantisation and stream layout."""
    opts = [
        click.option("--pipeline", type=click.Choice(list(PIPELINES)), default="rdo", show_default=True,
                     help="rdo: train with the quantiser and the rate in the loop (learned steps and entropy "
                          "models, format 1.2; docs/usage.md \"Pipelines\"). paper: the "
                          "paper's train-then-prune-and-quantise pipeline exactly (format 1.0/1.1)."),
        click.option("--lambda", "lam", type=click.FloatRange(0, 1e6, min_open=True), metavar="L",
                     help="rdo: weight of the rate in the loss D + L x bpp (default 0.5). With --bpp the "
                          "quantiser steps still steer the file onto the target."),
        click.option("--entropy", type=click.Choice(ENTROPY_MODELS), default="laplace", show_default=True,
                     help="rdo: the entropy models. laplace: one learned law per coded tensor and for the "
                          "embeddings (format 1.2/1.4). context: after NVRC, laws per output x input channel "
                          "for the weights and per channel x context (the previous frame) for the embeddings, "
                          "trained on the rate they code (format 1.6; opt-in: newer decoders only)."),
        click.option("--bits-per-param", type=click.FloatRange(1, 16), metavar="B",
                     help="rdo with --bpp: size the decoder for B bits a parameter (default: 3.5 at every rate "
                          "and length of fit). Fewer, finer-coded parameters or more, coarser ones: "
                          "docs/design-notes.md \"Bits per parameter\"."),
        click.option("--prune", type=click.FloatRange(0, 0.95, max_open=True), default=0.1, show_default=True,
                     help="Fraction of decoder weights removed by global magnitude pruning (paper pipeline: "
                          "rate control may raise it)."),
        click.option("--weight-bits", type=click.IntRange(2, 16), default=8, show_default=True,
                     help="Bits per decoder weight and bias: the alphabet (paper pipeline: rate control may "
                          "change it by 1-2)."),
        click.option("--emb-bits", type=click.IntRange(2, 16), default=6, show_default=True,
                     help="Bits per embedding value."),
        click.option("--finetune", type=click.FloatRange(0), default=0.1, show_default=True,
                     help="Fine-tune epochs after pruning, as a fraction of the training epochs."),
        click.option("--chunk-frames", type=click.IntRange(1, 1024), default=None,
                     help="Frames per independently decodable embedding chunk (1 = strictly per frame; default 64, "
                          "8 with --pipeline paper). A chunk's first embedding is coded without prediction."),
    ]
    return functools.reduce(lambda g, o: o(g), reversed(opts), f)


def limit_options(f):
    """Decoder resource limits (docs/safety.md "Decoder limits")."""
    opts = [
        click.option("--max-pixels", type=click.IntRange(1), metavar="N",
                     help="Largest frame to synthesise, in pixels with the padding (default 67,108,864: 8K "
                          "with room to spare)."),
        click.option("--max-frames", type=click.IntRange(1), metavar="N",
                     help="Most frames to decode (default 1,048,576: over four hours at 60 fps)."),
        click.option("--no-limits", is_flag=True,
                     help="Trust the stream: no limits beyond the format's (pixels in all, embedding values, "
                          "probability tables are otherwise capped too; see docs/safety.md)."),
    ]
    return functools.reduce(lambda g, o: o(g), reversed(opts), f)
