"""The ``kb`` command: parses arguments, calls the library, turns a KbError into one line and exit code 1."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kb.config import Settings, load_settings
from kb.environment import configure_environment
from kb.errors import ConfigError, KbError

if TYPE_CHECKING:
    from ingest.files import IngestReport


def _settings(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    if getattr(args, "data_dir", None):
        overrides["data_dir"] = Path(args.data_dir)
    return load_settings(**overrides)


def _progress() -> bool:
    return sys.stderr.isatty()


def cmd_model_install(args: argparse.Namespace) -> int:
    """Run `kb model install`: convert the bundled model, export its ONNX question encoder, train the danger model."""
    from kb.models.encoders import install_model
    from kb.models.onnx import export_onnx
    from kb.safety.install import install_danger_model

    settings = _settings(args)
    say = (lambda m: print(f"kb model install: {m}", file=sys.stderr)) if _progress() else None
    folder = install_model(settings, force=args.force, progress=say)
    export_onnx(folder, force=args.force, progress=say)
    trained = install_danger_model(settings, force=args.force)
    if trained is not None and say is not None:
        say(f"danger model trained: {json.dumps(trained)}")
    print(folder)
    return 0


def cmd_ingest(args: argparse.Namespace) -> int:
    """Run `kb ingest`: add and update the given paths (none: the configured sources); keep the rest of the index."""
    from ingest.indexer import Indexer
    from kb.search.store import open_client

    settings = _settings(args)
    paths = [Path(p) for p in args.paths] or list(settings.sources)
    paths = [p for p in paths if p.exists() or args.paths]  # a missing default folder is not an error
    client = open_client(settings)
    try:
        report = Indexer(settings, client, progress=_progress()).ingest(paths, prune=args.prune)
    finally:
        client.close()
    return _report(report, args.json)


def cmd_remove(args: argparse.Namespace) -> int:
    """Run `kb remove`: take documents out of the index, by the file or folder they came from or by id."""
    from ingest.indexer import Indexer
    from kb.search.store import open_client

    client = open_client(settings := _settings(args))
    try:
        report = Indexer(settings, client).remove(list(args.targets))
    finally:
        client.close()
    return _report(report, args.json)


def _report(report: IngestReport, as_json: bool) -> int:
    for file, error in report.failures:
        print(f"kb ingest: failed {file}: {error}", file=sys.stderr)
    for file, reason in report.skipped:
        print(f"kb ingest: skipped {file}: {reason}", file=sys.stderr)
    for file, notice in report.notices:
        print(f"kb ingest: note {file}: {notice}", file=sys.stderr)
    print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2) if as_json else report.summary())
    return 0


def cmd_search(args: argparse.Namespace) -> int:
    """Run `kb search`: print the best passages for the query."""
    from kb.knowledge_base import KnowledgeBase

    with KnowledgeBase(_settings(args)) as kb:
        passages = kb.search(args.query, k=args.k, language=args.language)
    if args.json:
        print(json.dumps({"passages": [p.to_dict() for p in passages]}, ensure_ascii=False, indent=2))
    else:
        for rank, p in enumerate(passages, 1):
            print(f"{rank}. [{p.score:.3f}] {p.title} — {p.section or ''} ({p.language}, {p.source})")
            print("   " + p.text[:300].replace("\n", " "))
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    """Run `kb ask`: print a cited answer, with the help block first when there is one."""
    from kb.knowledge_base import KnowledgeBase

    with KnowledgeBase(_settings(args)) as kb:
        answer = kb.ask(args.question, language=args.language, audience=args.audience)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
    else:
        if answer.help:
            print(answer.help.title)
            for contact in answer.help.contacts:
                print(f"  {contact.name}: {contact.phone or ''} {contact.email or ''}".rstrip())
            print()
        print(answer.answer)
        for citation in answer.citations:
            print(f"[{citation.n}] {citation.title} — {citation.section or ''}: “{citation.quote}”")
        print(f"\n{answer.notice}")
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    """Run `kb eval`: evaluate the chosen sets (default all), print the report and write it under ``--reports``."""
    from evals.report import markdown, run_all, write_reports

    unknown = set(args.sets) - {"gold", "swequad", "xquad", "tatoeba"}
    if unknown:
        raise ConfigError(
            f"unknown evaluation set {', '.join(sorted(unknown))}; choose from gold, swequad, xquad, tatoeba"
        )
    settings = _settings(args)
    results = run_all(settings, sets=args.sets or None)
    paths = write_reports(results, Path(args.reports))
    print(markdown(results))
    print("written: " + ", ".join(str(p) for p in paths))
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    """Run `kb bench`: run every measurement, print the report and write it under ``--reports``."""
    from evals.bench import markdown, run, write_reports

    results = run(_settings(args))
    paths = write_reports(results, Path(args.reports))
    print(markdown(results))
    print("written: " + ", ".join(str(p) for p in paths))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Run `kb serve`: serve the HTTP API with uvicorn (with the limits and log filter of ``api.server``)."""
    import uvicorn

    from api.app import create_app
    from api.server import server_config

    settings = _settings(args)
    if settings.embedding.query_backend == "onnx":
        import torch

        # In a server torch only embeds passages (an admin reindex; questions go through ONNX): one thread leaves
        # the other core to the questions. Set once, before serving, for the whole process.
        torch.set_num_threads(1)
    host = args.host or settings.api.host
    port = args.port or settings.api.port
    uvicorn.Server(server_config(create_app(settings), settings.api, host, port)).run()
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of ``kb``."""
    parser = argparse.ArgumentParser(prog="kb", description="Majakka: answers about trafficking in human beings.")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", help="data directory (default: $KB_DATA_DIR or ./data)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser(
        "ingest", parents=[common],
        help="add or update files and folders (default: the configured corpus); the rest of the index is kept",
    )
    p.add_argument("paths", nargs="*")
    p.add_argument("--prune", action="store_true",
                   help="also remove indexed documents under these paths whose files are gone")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_ingest)

    p = sub.add_parser("remove", parents=[common], help="remove documents by file, folder or document id")
    p.add_argument("targets", nargs="+", metavar="PATH_OR_ID")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_remove)

    p = sub.add_parser("search", parents=[common], help="find passages")
    p.add_argument("query")
    p.add_argument("-k", type=int, default=None)
    p.add_argument("--language", choices=["fi", "sv", "en"])
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("ask", parents=[common], help="answer a question with citations")
    p.add_argument("question")
    p.add_argument("--language", choices=["fi", "sv", "en"])
    p.add_argument("--audience", choices=["public", "staff"], default=None)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("eval", parents=[common], help="measure retrieval and answers against baselines")
    p.add_argument("sets", nargs="*", metavar="SET", help="gold, swequad, xquad, tatoeba (default: all)")
    p.add_argument("--reports", default="reports", help="folder for eval.md, eval.json and eval.png")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("bench", parents=[common], help="measure speed and memory against a plain Haystack pipeline")
    p.add_argument("--reports", default="reports", help="folder for bench.md, bench.json and bench.png")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("serve", parents=[common], help="serve the HTTP API and the widget")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.set_defaults(func=cmd_serve)

    model = sub.add_parser("model", help="manage the embedding model").add_subparsers(
        dest="model_command", required=True
    )
    p = model.add_parser("install", parents=[common], help="convert the bundled multilingual-e5-small (offline)")
    p.add_argument("--force", action="store_true", help="convert again even if installed")
    p.set_defaults(func=cmd_model_install)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``kb``."""
    configure_environment()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KbError as exc:
        print(f"kb: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("kb: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
