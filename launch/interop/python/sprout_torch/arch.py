"""sprout's architecture text: "kind=mlp;in=1x28x28;classes=10;batch_norm=false;widths=256,256"."""

from dataclasses import dataclass, field
from typing import Dict, List, Tuple


@dataclass
class Arch:
    kind: str
    input: Tuple[int, int, int]  # (C, H, W)
    classes: int
    params: Dict[str, str] = field(default_factory=dict)

    def ints(self, key: str) -> List[int]:
        text = self.params.get(key, "")
        return [int(v) for v in text.split(",")] if text else []

    def integer(self, key: str) -> int:
        values = self.ints(key)
        if len(values) != 1:
            raise ValueError(f"architecture: {key}={self.params.get(key)!r} is not one integer")
        return values[0]

    def flag(self, key: str) -> bool:
        value = self.params.get(key, "false")
        if value not in ("true", "false", "1", "0"):
            raise ValueError(f"architecture: {key}={value!r} is not a boolean")
        return value in ("true", "1")


def parse_arch(text: str) -> Arch:
    fields = {}
    for item in text.split(";"):
        if not item:
            continue
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"architecture {text!r}: {item!r} is not key=value")
        fields[key] = value
    try:
        kind = fields.pop("kind")
        c, h, w = (int(v) for v in fields.pop("in").split("x"))
        classes = int(fields.pop("classes"))
    except (KeyError, ValueError) as e:
        raise ValueError(f"architecture {text!r}: needs kind, in=CxHxW and classes ({e})") from None
    return Arch(kind, (c, h, w), classes, fields)
