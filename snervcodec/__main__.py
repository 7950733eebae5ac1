"""``python -m snervcodec`` and the ``snerv`` entry point: a light shim, so that Ctrl-C while the
command line loads (torch takes a few seconds to import) is one line and exit 130 too."""

import sys


def main() -> None:
    try:
        from .cli import main as cli_main
    except KeyboardInterrupt:
        print("snerv: interrupted; no output was written", file=sys.stderr)
        sys.exit(130)
    cli_main(sys.argv[1:])


if __name__ == "__main__":
    main()
