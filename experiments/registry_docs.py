"""What is generated from the parameter registry (``models.registry``): the parameter tables of
docs/MODEL.md §8 and the intervention building blocks in ``conf/intervention/``.

    python -m experiments.registry_docs          # rewrite both
    python -m experiments.registry_docs --check  # exit 1 if either is out of date

The registry is the one place a number is declared; these files show it where readers and
Hydra look for it. Tests check that they are what this module writes.
"""

import argparse
import sys
from dataclasses import fields
from pathlib import Path

from experiments.docs_blocks import block, replace_block
from models import registry
from models.interventions import Intervention
from sim.paths import conf_dir

ROOT = Path(__file__).resolve().parent.parent
MODEL_MD = ROOT / "docs" / "MODEL.md"
BLOCKS_DIR = conf_dir() / "intervention"
#: Fields every building block lists (the others only where its kind sets them).
COMMON = ("start", "end", "target", "share", "rule", "intensity", "cadence", "cost_fixed",
          "cost_per_week", "cost_per_person")
BEGIN = "<!-- registry:parameters:begin (python -m experiments.registry_docs) -->"
END = "<!-- registry:parameters:end -->"


def _number(value) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int) or float(value).is_integer() and abs(value) >= 1:
        return f"{value:g}"
    return f"{value:g}"


def parameter_table() -> str:
    """The behavioural parameters, grouped as in the registry."""
    lines = [
        "| parameter | default | plausible range | unit | meaning | source or reason | varied |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, (default, meaning) in registry.SWITCHES.items():
        lines.append(f"| **switches** | | | | | | |\n| `{name}` | {default} | — | bool | {meaning} "
                     "| verification switch | no |")
    group = None
    for p in registry.PARAMETERS.values():
        if p.group != group:
            group = p.group
            lines.append(f"| **{group}** | | | | | | |")
        varied = "yes" if p.uncertain else "no"
        lines.append(
            f"| `{p.name}` | {_number(p.default)} | {_number(p.low)}–{_number(p.high)} | "
            f"{p.unit} | {p.meaning} | {p.source} | {varied} |"
        )
    return "\n".join(lines)


def block_table() -> str:
    """The intervention building blocks: each kind's defaults with range and source."""
    lines = [
        "| kind | field | default | plausible range | unit | source or reason |",
        "|---|---|---|---|---|---|",
    ]
    for kind, values in registry.BLOCKS.items():
        for name, setting in values.items():
            unit = registry.FIELDS.get(name, ("—", ""))[0]
            if isinstance(setting, registry.Setting):
                lines.append(
                    f"| `{kind}` | `{name}` | {_number(setting.value)} | "
                    f"{_number(setting.low)}–{_number(setting.high)} | {unit} | {setting.source} |"
                )
            else:
                lines.append(f"| `{kind}` | `{name}` | {setting} | — | — | building block |")
    return "\n".join(lines)


def docs_block() -> str:
    return (
        "#### 8.1 Behavioural parameters (`population.<name>`)\n\n"
        + parameter_table()
        + "\n\n#### 8.2 Intervention building blocks (`conf/intervention/<kind>.yaml`)\n\n"
        "Fields not listed take the generic defaults of an intervention (§7.15.1); costs but "
        "`cost_fixed` are stated at intensity 1 and scale with it.\n\n" + block_table()
    )


def _wrap(text: str, width: int = 96) -> list[str]:
    words, lines, line = text.split(), [], ""
    for word in words:
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return [*lines, line] if line else lines


def block_yaml(kind: str) -> str:
    """The building block of ``kind``: every field with its default, and a comment with its
    source; generated, so that the registry stays the one place the numbers live."""
    out = [f"# {line}" for line in _wrap(registry.KIND_TEXT[kind])]
    out.append("# Generated from models/registry.py (python -m experiments.registry_docs).")
    values = registry.BLOCKS[kind]
    defaults = {f.name: f.default for f in fields(Intervention)}
    out.append(f"kind: {kind}")
    for name in defaults:
        if name in ("name", "kind") or (name not in COMMON and name not in values):
            continue
        setting = values.get(name, defaults[name])
        if isinstance(setting, registry.Setting):
            value, note = setting.value, f"  # {setting.source}"
        else:
            value, note = setting, ""
        text = "null" if value is None else value
        line = f"{name}: {text}"
        out.append(f"{line}{note}" if len(line + note) <= 100 else line)
    return "\n".join(out) + "\n"


def write() -> list[Path]:
    written = [replace_block(MODEL_MD, BEGIN, END, docs_block())]
    for kind in registry.BLOCKS:
        path = BLOCKS_DIR / f"{kind}.yaml"
        path.write_text(block_yaml(kind), encoding="utf-8")
        written.append(path)
    return written


def stale() -> list[str]:
    """Files that are not what ``write`` would write."""
    out = []
    if block(MODEL_MD, BEGIN, END) != docs_block().strip():
        out.append(str(MODEL_MD))
    for kind in registry.BLOCKS:
        path = BLOCKS_DIR / f"{kind}.yaml"
        if not path.exists() or path.read_text(encoding="utf-8") != block_yaml(kind):
            out.append(str(path))
    extra = {p.stem for p in BLOCKS_DIR.glob("*.yaml")} - set(registry.BLOCKS)
    out += [str(BLOCKS_DIR / f"{k}.yaml") + " (no such kind)" for k in sorted(extra)]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="only say what is out of date")
    args = parser.parse_args(argv)
    if args.check:
        out = stale()
        for path in out:
            print(f"out of date: {path}", file=sys.stderr)
        return 1 if out else 0
    for path in write():
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
