"""The ``.snv`` container (bitstream/SPEC.md): header, sections, checksums. Knows nothing of training."""

from .container import FORMAT_VERSION, MAGIC, read_container, write_container
from .header import StreamHeader

__all__ = ["FORMAT_VERSION", "MAGIC", "StreamHeader", "read_container", "write_container"]
