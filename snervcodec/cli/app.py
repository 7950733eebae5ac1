"""The ``snerv`` command group and what every command shares: one line and exit status 1 for
every failure a user can cause, signals that unwind like Ctrl-C (:mod:`.commands` has the commands).

Every failure a user can cause prints one line (``snerv: error: ...``) and exits with status 1:
bad options (click's usage errors too), unreadable inputs, bad streams, unwritable outputs, a full
disk. Ctrl-C exits with 130, SIGTERM with 143 and SIGHUP with 129, and all three leave no partial
output: every writer is atomic, and the signals unwind like Ctrl-C.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import warnings

import click

from ..errors import SnervError


class _Signalled(KeyboardInterrupt):
    """SIGTERM / SIGHUP, raised where the program is, so it unwinds (and cleans up) like Ctrl-C."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _raise_signal(signum, frame):
    raise _Signalled(signum)


@contextlib.contextmanager
def _signals_unwind():
    """SIGTERM and SIGHUP raise :class:`_Signalled` for the duration (main thread only)."""
    sigs = [s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s is not None]
    old = {}
    try:
        for s in sigs:
            old[s] = signal.signal(s, _raise_signal)
    except ValueError:  # not the main thread: leave signals alone
        pass
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def _error(message: str) -> int:
    click.echo(f"snerv: error: {' '.join(str(message).split())}", err=True)
    return 1


def _interrupted(e: BaseException) -> int:
    sig = next((x.signum for x in (e, e.__cause__, e.__context__) if isinstance(x, _Signalled)), None)
    what = signal.Signals(sig).name if sig else "interrupted"
    click.echo(f"snerv: {what}; no partial output was left", err=True)
    return 128 + sig if sig else 130


class _Group(click.Group):
    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        """Run a command; turn every failure a user can cause into one line and exit status 1."""
        with _signals_unwind():
            try:
                rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
                code = rv if isinstance(rv, int) else 0
            except click.exceptions.Exit as e:
                code = e.exit_code
            except click.UsageError as e:
                hint = f" (see '{e.ctx.command_path} --help')" if e.ctx is not None else ""
                code = _error(e.format_message() + hint)
            except click.ClickException as e:
                code = _error(e.format_message())
            except SnervError as e:
                code = _error(str(e))
            except OSError as e:  # a full disk, a read-only folder, a vanished file
                where = f"{e.filename}: " if e.filename else ""
                code = _error(f"{where}{e.strerror or e}")
            except (KeyboardInterrupt, click.Abort) as e:
                code = _interrupted(e)
        if not standalone_mode:
            return code
        sys.exit(code)


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    click.echo(f"snerv: warning: {message}", err=True)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(package_name="snervcodec", prog_name="snerv")
def cli():
    """snerv: a neural video codec built on SNeRV (ECCV 2024).

    \b
      snerv encode input.mp4 -o out.snv --bpp 0.03   overfit, prune, quantise, entropy-code
      snerv decode out.snv -o recon.mp4               rebuild the network and write frames
      snerv info out.snv                              what is inside a stream
      snerv fit input.mp4                             overfit only and report quality
    """
    warnings.showwarning = _one_line_warning


def main(argv: list[str] | None = None) -> None:
    """The ``snerv`` entry point (Ctrl-C while Python starts is one line too)."""
    try:
        cli.main(args=argv, prog_name="snerv")
    except KeyboardInterrupt as e:
        sys.exit(_interrupted(e))
