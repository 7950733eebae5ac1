"""Benchmark suite: anchors (x264/x265 via PyAV), shared metrics, BD-rate, runner and reports."""
