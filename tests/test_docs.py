"""Every document the code cites is in the repository, with the section it names: a user has only
this repository (docstrings, comments and --help text cite docs/*.md and bitstream/SPEC.md)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CITE = re.compile(
    r'(docs/[\w/.-]+\.md|bitstream/SPEC\.md|SPEC\.md)(?:,? "([^"]+)"|,? section ([0-9]+(?:\.[0-9a-z]+)*))?'
)


def _headings(doc: Path) -> list[str]:
    return [line.lstrip("#").strip() for line in doc.read_text().splitlines() if line.startswith("#")]


def citations(text: str):
    """(document, section or None) of every citation in ``text``."""
    for m in CITE.finditer(text):
        path = m.group(1)
        yield ("bitstream/SPEC.md" if path == "SPEC.md" else path), m.group(2) or m.group(3)


def test_every_cited_document_and_section_exists():
    files = [p for d in ("snervcodec", "benchmarks") for p in (ROOT / d).rglob("*.py")]
    missing = []
    for f in files:
        for path, section in citations(f.read_text()):
            doc = ROOT / path
            if not doc.is_file():
                missing.append(f"{f.relative_to(ROOT)}: {path}")
            elif section and not any(section.lower() in h.lower() for h in _headings(doc)):
                missing.append(f'{f.relative_to(ROOT)}: {path} "{section}"')
    assert not missing, "citations that do not resolve:\n" + "\n".join(sorted(set(missing)))


def test_the_check_finds_a_missing_document_and_section():
    text = 'see docs/nowhere.md and docs/usage.md "No such section" and SPEC.md, section 4.4'
    assert list(citations(text)) == [
        ("docs/nowhere.md", None),
        ("docs/usage.md", "No such section"),
        ("bitstream/SPEC.md", "4.4"),
    ]
    assert not (ROOT / "docs/nowhere.md").exists()
    assert not any("No such section".lower() in h.lower() for h in _headings(ROOT / "docs/usage.md"))


def test_no_docstring_cites_the_readme_or_an_outside_file():
    """The README is a three-minute page now; the code cites docs/ (and never shared/'s files)."""
    bad = [
        f"{p.relative_to(ROOT)}:{i}"
        for d in ("snervcodec", "benchmarks")
        for p in (ROOT / d).rglob("*.py")
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if re.search(r'README "|(?<![/\w])architecture\.md', line)
    ]
    assert not bad, bad
