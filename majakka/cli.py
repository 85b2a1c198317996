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
from kb.errors import ConfigError, KbError, StoreLockedError

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
    try:
        client = open_client(settings)
    except StoreLockedError as exc:
        if args.paths or not settings.api.admin_token:
            raise StoreLockedError(
                f"{exc}. A running `kb serve` holds the index: stop it (Ctrl+C where it runs) and run `kb ingest` "
                "again; or, for the configured sources, set KB_API__ADMIN_TOKEN to the server's token and run "
                "`kb ingest` without paths, which asks the server to reindex while it serves"
            ) from None
        return _reindex_on_server(settings, args.json)
    try:
        report = Indexer(settings, client, progress=_progress()).ingest(paths, prune=args.prune)
    finally:
        client.close()
    return _report(report, args.json)


def _reindex_on_server(settings: Settings, as_json: bool) -> int:
    """Ask the running server to reindex the configured sources (admin API) and wait for its report."""
    import time

    auth = {"Authorization": f"Bearer {settings.api.admin_token}"}
    _from_server(settings, "POST", "/api/v1/admin/reindex", headers=auth)
    print("kb ingest: the server holds the index; it is reindexing the configured sources", file=sys.stderr)
    while True:
        time.sleep(1)
        state = _from_server(settings, "GET", "/api/v1/admin/stats", headers=auth)["reindex"]
        if not state["running"] and state["last"] is not None:
            break
    last = state["last"]
    if not last.get("ok"):
        raise KbError(f"the server's reindex failed: {last.get('error')}")
    if as_json:
        print(json.dumps(last, ensure_ascii=False, indent=2))
    else:
        seconds = float(last.get("seconds") or 0)
        print(f"index reindexed by the server: {last.get('passages')} passages ({last.get('passages_embedded')} "
              f"embedded, {last.get('documents_removed')} documents removed) in {seconds:.1f} s")
    return 0


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
    """Run `kb search`: print the best passages for the query (from the running server if it holds the index)."""
    from kb.knowledge_base import KnowledgeBase

    settings = _settings(args)
    try:
        with KnowledgeBase(settings) as kb:
            passages = kb.search(args.query, k=args.k, language=args.language, kind=args.kind)
            found = {"passages": [p.to_dict() for p in passages]}
    except StoreLockedError:
        params = {"q": args.query, "k": args.k or settings.retrieval.top_k}
        params |= {"language": args.language, "kind": args.kind}
        found = _from_server(settings, "GET", "/api/v1/search", params={k: v for k, v in params.items() if v})
    if args.json:
        print(json.dumps(found, ensure_ascii=False, indent=2))
    else:
        for rank, p in enumerate(found["passages"], 1):
            where = f"({p['language']}, {p['source']})"
            print(f"{rank}. [{p['score']:.3f}] {p['title']} — {p.get('section') or ''} {where}")
            print("   " + p["text"][:300].replace("\n", " "))
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    """Run `kb ask`: print a cited answer, help block first (from the running server if it holds the index)."""
    from kb.knowledge_base import KnowledgeBase

    settings = _settings(args)
    try:
        with KnowledgeBase(settings) as kb:
            answer = kb.ask(args.question, language=args.language, audience=args.audience).to_dict()
            answer.pop("flags", None)
    except StoreLockedError:
        body = {"question": args.question, "language": args.language, "audience": args.audience}
        answer = _from_server(settings, "POST", "/api/v1/ask", json_body=body)
    if args.json:
        print(json.dumps(answer, ensure_ascii=False, indent=2))
        return 0
    if answer.get("help"):
        print(answer["help"]["title"])
        for contact in answer["help"]["contacts"]:
            print(f"  {contact['name']}: {contact.get('phone') or ''} {contact.get('email') or ''}".rstrip())
        print()
    print(answer["answer"])
    for citation in answer["citations"]:
        print(f"[{citation['n']}] {citation['title']} — {citation.get('section') or ''}: “{citation['quote']}”")
    print(f"\n{answer['notice']}")
    return 0


def _from_server(
    settings: Settings, method: str, path: str, *, params: dict[str, Any] | None = None,
    json_body: dict[str, Any] | None = None, headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Ask the `kb serve` that holds the embedded index (``KB_API__HOST``/``KB_API__PORT``) instead.

    Raises:
        StoreLockedError: no server answers there (another process holds the folder), with what to do.
    """
    import httpx

    host = "127.0.0.1" if settings.api.host in ("0.0.0.0", "::") else settings.api.host
    url = f"http://{host}:{settings.api.port}{path}"
    try:
        response = httpx.request(method, url, params=params, json=json_body, headers=headers, timeout=60)
    except httpx.TransportError:
        raise StoreLockedError(
            f"the Qdrant folder {settings.qdrant_path} is in use by another process, and no `kb serve` answers at "
            f"{host}:{settings.api.port}; stop that process, or set KB_API__PORT to the port the server runs on"
        ) from None
    if not 200 <= response.status_code < 300:
        detail = response.json().get("detail") if "json" in response.headers.get("content-type", "") else None
        raise KbError(f"the server at {host}:{settings.api.port} answered {response.status_code}: {detail}")
    return dict(response.json())


def _question(text: str) -> str:
    """Read a question as the API takes it: 1 to 1000 characters, not only spaces."""
    if not text.strip():
        raise argparse.ArgumentTypeError('the question is empty; ask something, e.g. kb ask "Who decides on it?"')
    if len(text) > 1000:
        raise argparse.ArgumentTypeError(f"the question is {len(text)} characters; at most 1000 are taken")
    return text


def _count(text: str) -> int:
    """Read a result count as the API takes it: 1 to 50."""
    try:
        k = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 1 <= k <= 50:
        raise argparse.ArgumentTypeError(f"{k} is out of range; give 1 to 50 (as the API's k)")
    return k


def cmd_eval(args: argparse.Namespace) -> int:
    """Run `kb eval`: evaluate the chosen sets (default all), print the report and write it under ``--reports``."""
    from evals.report import EVAL_SETS, markdown, run_all, write_reports

    unknown = set(args.sets) - set(EVAL_SETS)
    if unknown:
        raise ConfigError(f"unknown evaluation set {', '.join(sorted(unknown))}; choose from {', '.join(EVAL_SETS)}")
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
    parser.add_argument("--version", action="version", version=f"kb (majakka) {_version()}")
    # --data-dir before or after the subcommand: the subcommand's copy does not overwrite the main one when absent.
    parser.add_argument("--data-dir", help="data directory (default: $KB_DATA_DIR or the project's data/)")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--data-dir", default=argparse.SUPPRESS, help="data directory (as before the subcommand)")
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
    p.add_argument("query", type=_question)
    p.add_argument("-k", type=_count, default=None, help="how many passages, 1 to 50 (default: KB_RETRIEVAL__TOP_K)")
    p.add_argument("--language", choices=["fi", "sv", "en"])
    p.add_argument("--kind", choices=["official", "guide"],
                   help="only official material (statutes, case law, the press release, the plan) or only our guides")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("ask", parents=[common], help="answer a question with citations")
    p.add_argument("question", type=_question)
    p.add_argument("--language", choices=["fi", "sv", "en"])
    p.add_argument("--audience", choices=["public", "staff"], default=None)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_ask)

    p = sub.add_parser("eval", parents=[common], help="measure retrieval and answers against baselines")
    p.add_argument(
        "sets", nargs="*", metavar="SET", help="gold, safety, dialogue, swequad, xquad, tatoeba, faq (default: all)"
    )
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


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("majakka")
    except PackageNotFoundError:
        return "unknown (not installed)"


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
