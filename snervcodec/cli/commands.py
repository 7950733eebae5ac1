"""The ``snerv`` commands: each builds its request from the options and calls the Python API
(:mod:`snervcodec.api`, :mod:`snervcodec.codec`), then prints a summary."""

from __future__ import annotations

import json
import sys

import click

from .app import cli
from .options import (compression_options, limit_options, model_options, overwrite_options, train_options,
                      video_options)
from ..bench.anchors import CODECS
from ..errors import ConfigError
from ..requests import PIPELINES
from .types import FloatList, WordList


@cli.command()
@click.argument("input", metavar="INPUT")
@video_options
@model_options
@train_options
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def fit(input, frames, crop, size, resize, fps, model, c1, n_rb, params, strides, t_scale, emb_cells, emb_channels,
        grid_share, preset, epochs, steps, lr, tune, mse_start, batch_size, time_limit, device, precision, compile_mode,
        seed, quiet, as_json):
    """Overfit a network to INPUT (a video or an image pattern like frames/%05d.png) and report
    PSNR and MS-SSIM of the float model. Writes nothing; see `snerv encode` for a stream."""
    from ..api import fit_request
    from ..models import model_summary
    from ..requests import ModelRequest, TrainRequest, VideoRequest

    res = fit_request(VideoRequest.of(input, frames, crop, size, resize, fps),
                      ModelRequest(model, c1, n_rb, params, strides, t_scale, emb_cells, grid_share, emb_channels),
                      TrainRequest(preset, epochs, device, precision, seed,
                                   {"steps": steps, "lr": lr, "tune": tune, "mse_start": mse_start,
                                    "batch_size": batch_size, "time_limit": time_limit, "compile": compile_mode}),
                      progress=not quiet)
    m = model_summary(res.cfg)
    summary = {"model": m.pop("name"), **m, "frames": int(res.embeddings.shape[0]), "psnr": round(res.psnr, 4),
               "ms_ssim": round(res.ms_ssim, 6), "train_seconds": round(res.train_seconds, 2),
               "precision": res.precision}
    if as_json:
        click.echo(json.dumps(summary))
    else:
        click.echo(f"{summary['model']} c1={summary['c1']} n_rb={summary['n_rb']} strides={res.cfg.strides} "
                   f"params={summary['decoder_params']}: PSNR {res.psnr:.2f} dB, MS-SSIM {res.ms_ssim:.4f}, "
                   f"{res.train_seconds:.1f} s ({res.precision})")


@cli.command()
@click.argument("input", metavar="INPUT")
@click.option("-o", "--output", required=True, metavar="OUT.snv",
              help="The stream to write (atomically); a FIFO or device is written into, - is stdout.")
@overwrite_options
@click.option("--bpp", type=click.FloatRange(0, 64, min_open=True),
              help="Target bits per pixel of the whole file; it lands within 5%. Sizes the model for you.")
@click.option("--segment-frames", type=click.IntRange(1), metavar="N",
              help="Split the video into segments of N frames, each with its own network (docs/long-videos.md"
                   "): the input is read a segment at a time, finished segments are kept in OUT.parts/ "
                   "(a re-run resumes), and under torchrun the ranks share them. Default: one segment.")
@click.option("--canvas", type=click.Choice(["auto", "off"]),
              help="auto (the rdo pipeline's default): where the camera pans, estimate its motion and train the "
                   "network to draw one canvas that holds the whole view, each frame a window of it (format "
                   "1.7); where it zooms or turns, each frame a view of the canvas warped by a similarity "
                   "(format 1.8); where it holds still while one object crosses the frame, the object drawn "
                   "once in a box beside or below the frame, shown where its own track places it (format 1.9). Only "
                   "where the motion explains most of what changes, the canvas is at most 4 frames' area, and "
                   "the video is one segment. off: draw the frames themselves.")
@click.option("--no-resume", is_flag=True, help="With --segment-frames: ignore finished segments of an earlier run.")
@click.option("--scene-cuts", is_flag=True,
              help="End a segment at every scene change too (segments of at least 8 frames; with or without "
                   "--segment-frames).")
@click.option("--warm-start", is_flag=True,
              help="Start each segment's network from the previous segment's trained float network (NIRVANA; "
                   "docs/long-videos.md \"Warm start\"). The segments then run one after another (not under "
                   "torchrun with several processes); each stays independently decodable.")
@video_options
@model_options
@train_options
@compression_options
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def encode(input, output, overwrite, bpp, segment_frames, canvas, no_resume, scene_cuts, warm_start, frames, crop, size,
           resize, fps, model, c1, n_rb, params, strides, t_scale, emb_cells, emb_channels, grid_share, preset, epochs,
           steps, lr, tune, mse_start, batch_size, time_limit, device, precision, compile_mode, seed, quiet, pipeline,
           lam, entropy, bits_per_param, prune, weight_bits, emb_bits, finetune, chunk_frames, as_json):
    """Encode INPUT (a video, an image pattern like frames/%05d.png, or - for y4m on stdin, e.g.
    `ffmpeg -i in.mov -f yuv4mpegpipe - | snerv encode - -o out.snv`) into a .snv stream.

    Overfits the network, prunes, quantises and entropy-codes it. Give --bpp for a target rate, or a
    model size (--c1 / --params); the default is c1=64, N_RB=2. Ends with a summary line measured by
    decoding the written bytes.
    """
    from ..codec import encode_request
    from ..requests import (CompressionConfig, EncodeRequest, Feedback, ModelRequest, OutputRequest, TrainRequest,
                            VideoRequest)

    req = EncodeRequest(
        VideoRequest.of(input, frames, crop, size, resize, fps),
        ModelRequest(model, c1, n_rb, params, strides, t_scale, emb_cells, grid_share, emb_channels, canvas),
        TrainRequest(preset, epochs, device, precision, seed,
                     {"steps": steps, "lr": lr, "tune": tune, "mse_start": mse_start, "batch_size": batch_size,
                      "time_limit": time_limit, "compile": compile_mode}),
        CompressionConfig(prune=prune, weight_bits=weight_bits, emb_bits=emb_bits, finetune=finetune,
                          chunk_frames=chunk_frames, pipeline=pipeline, lam=lam or 0.0, entropy=entropy,
                          bits_per_param=bits_per_param or 0.0),
        OutputRequest(output, bool(overwrite), segment_frames, not no_resume, scene_cuts, warm_start), bpp)
    say = None if quiet else (lambda m: click.echo(f"snerv: {m}", err=True))
    res = encode_request(req, Feedback(not quiet, None, say))
    if res.rank:  # torchrun: rank 0 reports
        return
    to_stderr = output == "-"  # the stream went to stdout: the summary must not follow it there
    if as_json:
        d = {k: v for k, v in res.__dict__.items() if k not in ("stream", "history")}
        click.echo(json.dumps(d, default=str), err=to_stderr)
    else:
        click.echo(f"{output}: {res.summary()}", err=to_stderr)


@cli.command()
@click.argument("stream", metavar="IN.snv")
@click.option("-o", "--output", required=True, metavar="OUT",
              help="Frames to write: .mp4/.mkv/.mov (H.264), .y4m (lossless 4:4:4), a %05d.png pattern, or - "
                   "(y4m on stdout: `snerv decode in.snv -o - | ffplay -`); a FIFO or device gets y4m.")
@overwrite_options
@click.option("--frames", metavar="START:END", help="Decode only these frames (random access). Default: all.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda", "mps"]), default="auto", show_default=True,
              help="Where to run the network.")
@click.option("--precision", type=click.Choice(["auto", "fp32", "bf16"]), default="fp32", show_default=True,
              help="fp32 reproduces the conformance checksums; bf16 is faster and a little less exact.")
@click.option("--batch-size", type=click.IntRange(1), default=4, show_default=True,
              help="Frames per network call; batches start at multiples of it, so --frames gives the same pixels "
                   "as a full decode with the same value.")
@click.option("--lossless", is_flag=True, help="For .mp4: write lossless RGB H.264 instead of high-quality 4:2:0.")
@click.option("--y4m-format", type=click.Choice(["yuv444p12le", "yuv444p", "yuv420p"]), default="yuv444p12le",
              show_default=True, help="Pixel format of y4m output: 12-bit 4:4:4 round-trips every RGB colour; "
                                      "yuv420p (8-bit 4:2:0, even sizes) is what every player reads.")
@click.option("--start-number", type=click.IntRange(0), metavar="N",
              help="PNG output: number of the first frame written (default: its absolute frame number, from 1, "
                   "so --frames 3:5 writes 00004 and 00005).")
@limit_options
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
def decode(stream, output, overwrite, frames, device, precision, batch_size, lossless, y4m_format, start_number,
           max_pixels, max_frames, no_limits, quiet):
    """Decode a .snv stream into video frames, at the original size, frame count and frame rate.
    Frames are written as they are synthesised: memory does not grow with the video's length."""
    from ..codec import decode as decode_api
    from ..codec.limits import DecodeLimits

    res = decode_api(stream, output, frames=frames, device=device, precision=precision, batch_size=batch_size,
                     lossless=lossless, progress=not quiet,
                     limits=DecodeLimits.from_options(max_pixels, max_frames, no_limits),
                     overwrite=bool(overwrite), y4m_format=y4m_format, start_number=start_number)
    n = res.n_frames
    click.echo(f"{output}: {n} frames {res.header.width}x{res.header.height} @ {float(res.fps):.3f} fps, "
               f"{res.seconds:.2f} s ({n / max(res.seconds, 1e-9):.1f} frames/s)", err=output == "-")


@cli.command()
@click.argument("stream", metavar="IN.snv")
@click.option("--json", "as_json", is_flag=True, help="Print everything as JSON.")
def info(stream, as_json):
    """Show what is inside a .snv stream: version, model, video, and the bit budget by section."""
    from ..codec import info as info_api

    d = info_api(stream)
    if as_json:
        click.echo(json.dumps(d, indent=2))
        return
    click.echo(f"snv {d['format_version']}  model {d['model']} (id {d['model_id']})  c1={d['c1']} n_rb={d['n_rb']} "
               f"strides={','.join(map(str, d['strides']))}  embedding {'x'.join(map(str, d['embedding']))}"
               + (f"  temporal embeddings {'x'.join(map(str, d['temporal_embeddings']))} (t_scale {d['t_scale']})"
                  if "temporal_embeddings" in d else "")
               + (f"  grids {' '.join('x'.join(map(str, g)) for g in d['grids'])} (TxHxWxC)" if "grids" in d else ""))
    c = d.get("canvas")
    layout = f"padded +{d['padding'][0]} rows, +{d['padding'][1]} cols"
    if c and "travel" in c:
        layout = (f"windows of the network's {c['width']}x{c['height']} canvas; the camera travels "
                  f"{c['travel'][0]} rows, {c['travel'][1]} cols")
    elif c:
        layout = (f"views of the network's {c['width']}x{c['height']} canvas, scale {c['scale'][0]:g}-"
                  f"{c['scale'][1]:g}, turned {c['turn_degrees'][0]:g} to {c['turn_degrees'][1]:g} degrees")
        if "object" in c:
            o = c["object"]
            layout += (f"; an object in a {o['box'][1]}x{o['box'][0]} box travels {o['travel'][0]:g} rows, "
                       f"{o['travel'][1]:g} cols")
    click.echo(f"video {d['width']}x{d['height']} ({layout}), "
               f"{d['frames']} frames @ {d['fps']} fps, source {d['source_pix_fmt'] or '?'}")
    zeros = f"{100 * d['weight_zero_fraction']:.1f}% zero" if d["weight_zero_fraction"] is not None else "not decoded"
    click.echo(f"decoder {d['decoder_params']} parameters, {'/'.join(map(str, d['weight_bits']))}-bit, "
               f"{zeros}; embeddings {d['embedding_bits']}-bit, "
               f"LL ranges {d['ll_range_bits']}-bit, {d['chunk_frames']} frames per chunk")
    click.echo(f"size {d['bytes']} bytes = {d['bpp']:.5f} bpp")
    for name, sec in d["sections"].items():
        share = 100 * sec["bytes"] / d["bytes"]
        click.echo(f"  {name:<8} {sec['bytes']:>10} bytes  {sec['bpp']:.5f} bpp  {share:5.1f}%")
    for group, r in d["rate"].items():
        gap = f"{100 * (r['coded_bits'] / r['model_bits'] - 1):+.2f}%" if r["model_bits"] else "n/a"
        click.echo(f"  {group}: the stream's models predict {r['model_bits']:.0f} bits, "
                   f"{r['coded_bits']} coded ({gap})")
    if len(d["segments"]) > 1:
        sizes = [s["frames"][1] - s["frames"][0] for s in d["segments"]]
        click.echo(f"{len(sizes)} segments of {min(sizes)}-{max(sizes)} frames, each with its own network "
                   f"(model figures above: the first segment's)")
    w = d["work"]
    click.echo(f"decoding it all: {w['frames']:,} frames of {w['frame_pixels']:,} pixels (padded), "
               f"{w['embedding_values']:,} embedding values, probability tables of {w['table_entries']:,} entries")
    for msg in d["warnings"]:
        click.echo(f"snerv: warning: {msg}; `snerv decode` refuses it", err=True)


@cli.command()
@click.option("--clip", "clips", multiple=True, metavar="NAME|PATH",
              help="bunny, carphone (the bundled clips) or a video path; repeatable. Default: the --set.")
@click.option("--set", "clip_set", type=click.Choice(["default", "dev"]), default=None,
              help="default: bunny and carphone; dev: the content-diverse development set (10 clips, "
                   "docs/usage.md). Not with --clip.")
@click.option("--frames", metavar="START:END", help="Frames of user clips (PATH) to use.")
@click.option("--size", metavar="HxW", help="Resize user clips (PATH) to HxW.")
@click.option("--snerv-bpp", type=FloatList(), metavar="B,B,...", help="SNeRV-B operating points (target bpp).")
@click.option("--hnerv-bpp", type=FloatList(allow_none=True), metavar="B,B,...|none",
              help="HNeRV baseline points at the same targets (the paper's comparison); none: no HNeRV.")
@click.option("--pipelines", type=WordList(PIPELINES), default="rdo", show_default=True,
              help="SNeRV-B encode pipelines to run on the same clips (rdo, paper); with both, the report adds "
                   "the BD-rate of rdo against paper.")
@click.option("--anchors", type=WordList(CODECS), default="x264,x265,av1", show_default=True, help="Anchor codecs.")
@click.option("--profiles", type=WordList(("literature", "strong")), default="literature,strong", show_default=True,
              help="literature: preset medium (AV1: SVT-AV1 preset 8), CRF sweep; strong: veryslow, tune psnr, "
                   "QP sweep (AV1: preset 2, tune PSNR, CRF sweep), one GOP.")
@click.option("--epochs", type=click.IntRange(1), help="SNeRV training epochs per point (default 20; --full: 300).")
@click.option("--refine", type=click.IntRange(0), default=6, show_default=True,
              help="Extra CRF/QP points per anchor inside the quality range of the SNeRV points, where the "
                   "BD-rate is integrated (0: the coarse sweep 22-51 only).")
@click.option("--full", is_flag=True, help="The GPU-sized set: Bunny at 640x1280, carphone 2x, 300 epochs, 4 rates.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda", "mps"]), default="auto", show_default=True,
              help="Where SNeRV trains and decodes.")
@click.option("--out", default="results/bench", show_default=True, metavar="DIR",
              help="Results, cache, report.md and RD plots go here; re-runs reuse cached points.")
def bench(clips, clip_set, frames, size, snerv_bpp, hnerv_bpp, pipelines, anchors, profiles, epochs, refine, full,
          device, out):
    """Rate-distortion benchmark: SNeRV against x264/x265/AV1 (and HNeRV), BD-rate, decode fps, plots.

    The default is sized for a 2-core CPU (about an hour): Bunny (132 frames, 192x384) and carphone
    (120 frames, 144x176), SNeRV at 0.05 / 0.1 / 0.2 bpp and HNeRV at 0.1 bpp, 20 epochs; x264/x265
    over CRF/QP 22-51 (SVT-AV1: CRF 16-63), refined inside SNeRV's quality range. ``--set dev``: the
    content-diverse development set (a few hours on that CPU); the report adds the median and worst
    clip. Interrupt it at will: finished points are cached and a re-run resumes.
    """
    from ..bench import check_extra

    check_extra()
    from ..bench.report import write_reports
    from ..bench.runner import BenchConfig, ClipSpec, builtin_clip, run

    if clips and clip_set:
        raise ConfigError("bench: use --set or --clip, not both")
    if clip_set == "dev":
        from ..bench.devset import dev_set

        clips, specs = (), dev_set(out)
    else:
        specs = []
    for c in clips or (() if specs else ("bunny", "carphone")):
        if c in ("bunny", "carphone"):
            specs.append(builtin_clip(c, full=full))
        else:
            from pathlib import Path

            specs.append(ClipSpec(Path(c).stem, c, frames=frames, size=size))
    cfg = BenchConfig(clips=specs, device=device, out=out, refine=refine, pipelines=list(pipelines),
                      command="snerv bench " + " ".join(sys.argv[2:]))
    if full:
        cfg.snerv_bpp, cfg.hnerv_bpp, cfg.epochs = [0.02, 0.05, 0.1, 0.2], [0.02, 0.05, 0.1, 0.2], 300
    if snerv_bpp:
        cfg.snerv_bpp = snerv_bpp
    if hnerv_bpp is not None:
        cfg.hnerv_bpp = hnerv_bpp
    if epochs:
        cfg.epochs = epochs
    cfg.anchors, cfg.profiles = anchors, profiles
    results = run(cfg, log=lambda m: click.echo(m, err=True))
    for p in write_reports(results, out):
        click.echo(str(p))
