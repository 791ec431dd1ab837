"""Generated blocks inside hand-written docs: the text between a begin and an end marker is
what a command measured; everything around it is written by hand and kept."""

from pathlib import Path


def block(docs: Path, begin: str, end: str) -> str:
    """The text between the markers, stripped."""
    return _split(docs, begin, end)[1].strip()


def replace_block(docs: Path, begin: str, end: str, content: str) -> Path:
    """Put ``content`` between the markers, keeping both markers and the rest of the file."""
    head, _, tail = _split(docs, begin, end)
    docs.write_text(f"{head}{begin}\n\n{content.strip()}\n\n{end}{tail}", encoding="utf-8")
    return docs


def _split(docs: Path, begin: str, end: str) -> tuple[str, str, str]:
    text = docs.read_text(encoding="utf-8")
    if begin not in text or end not in text:
        raise SystemExit(f"{docs}: the markers {begin!r} and {end!r} are missing")
    head, rest = text.split(begin, 1)
    inside, tail = rest.split(end, 1)
    return head, inside, tail
