"""The ``claimaudit`` command line. The only place that configures logging and turns errors into exit
codes: 0 success, 1 the run finished but some documents failed (recorded with a reason), 2 bad input
(a one-line message naming the input; never a traceback)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any, Iterator, Sequence

from . import __version__
from .errors import BadInput, ClaimauditError, ModelError
from .settings import Settings, load_settings

LOGGER = logging.getLogger("pipeline.cli")
EXIT_OK, EXIT_FAILED_DOCS, EXIT_BAD_INPUT = 0, 1, 2
DOC_SUFFIXES = {".html": "text/html", ".htm": "text/html", ".xhtml": "application/xhtml+xml", ".txt": "text/plain"}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit 2 (argparse prints usage + error otherwise)
        raise BadInput(f"{self.prog}: {message}")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("-v", "--verbose", action="count", default=0, help="-v info, -vv debug logging on stderr")
    p.add_argument("--settings", type=Path, help="a TOML file overriding pipeline/defaults.toml")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="claimaudit", description="Audit what clinics claim online against cited consensus findings.")
    parser.add_argument("--version", action="version", version=f"claimaudit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("demo", help="serve corpus/sites on 127.0.0.1, run the full flow, write reports/demo/index.html")
    p.add_argument("--out", type=Path, help="report folder (default reports/demo)")
    p.add_argument("--db", type=Path, help="database (default data/demo/claimaudit.duckdb)")
    _common(p)

    for name, help_ in (("run", "the whole flow as one Prefect flow run: crawl, archive, analyze, check, score, store, report"),
                        ("crawl", "crawl and archive only (WARC + fetches table)")):
        p = sub.add_parser(name, help=help_)
        p.add_argument("--sources", type=Path, required=True, help="sources YAML (see README)")
        p.add_argument("--db", type=Path, help="DuckDB file (default data/claimaudit.duckdb)")
        p.add_argument("--archive", type=Path, help="WARC folder (default data/archive)")
        if name == "run":
            p.add_argument("--out", type=Path, help="report folder (default reports/<run id>)")
        p.add_argument("--resume", nargs="?", const="latest", metavar="RUN_ID",
                       help="continue an unfinished run (default: the newest of this sources file), "
                            "crawling only the sources it has not stored yet")
        p.add_argument("--delay", type=float, help="seconds between requests to one host (default from settings)")
        _common(p)

    p = sub.add_parser("analyze", help="analyze HTML/text files, folders of them, or URLs; one record per document on stdout")
    p.add_argument("inputs", nargs="+", metavar="PATH_OR_URL")
    p.add_argument("--format", choices=["jsonl", "json", "text"], default="jsonl")
    p.add_argument("--archive", type=Path, help="WARC folder for fetched URLs (default data/archive)")
    _common(p)

    p = sub.add_parser("report", help="rebuild the HTML report of a run from the database")
    p.add_argument("--db", type=Path)
    p.add_argument("--run", help="run id (default: the latest)")
    p.add_argument("--out", type=Path, required=True)
    _common(p)

    p = sub.add_parser("export", help="tables for analysts: CSV, Parquet or JSON Lines")
    p.add_argument("--format", choices=["csv", "parquet", "json"], required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--db", type=Path)
    p.add_argument("--run", help="only this run (default: all runs)")
    _common(p)

    p = sub.add_parser("findings", help="list the consensus findings with their citations")
    p.add_argument("--topic", help="topic name (corpus/consensus/<topic>.yaml) or a path to a findings file")
    p.add_argument("--format", choices=["text", "json"], default="text")
    _common(p)

    p = sub.add_parser("train", help="retrain the sentence classifier from corpus/labelled (writes models/)")
    p.add_argument("--quick", action="store_true", help="no grid search (for smoke tests)")
    p.add_argument("--model", type=Path, help="where to write the model (default models/sentence_classifier.skops)")
    _common(p)

    p = sub.add_parser("evaluate", help="print metrics: " + ", ".join(sorted(EVALUATORS)))
    p.add_argument("what", choices=sorted(EVALUATORS))
    p.add_argument("--format", choices=["text", "json"], default="text")
    _common(p)

    p = sub.add_parser("serve", help="scheduled crawl-and-score runs (a Prefect deployment; needs a Prefect server)")
    p.add_argument("--sources", type=Path, required=True)
    p.add_argument("--cron", required=True, help='cron schedule, e.g. "0 3 * * 1"')
    p.add_argument("--name", default="claimaudit-scheduled")
    p.add_argument("--db", type=Path)
    p.add_argument("--archive", type=Path)
    _common(p)
    return parser


def _configure_logging(verbose: int) -> None:
    level = logging.DEBUG if verbose >= 2 else logging.INFO if verbose == 1 else logging.WARNING
    logging.basicConfig(stream=sys.stderr, level=level, format="%(levelname)s %(name)s: %(message)s")


def settings_from_args(args: argparse.Namespace) -> Settings:
    """The one place command-line options become settings."""
    over: dict[str, Any] = {}
    for key in ("db", "archive"):
        if getattr(args, key, None) is not None:
            over[key] = getattr(args, key)
    if getattr(args, "delay", None) is not None:
        over["delay_seconds"] = args.delay
    if getattr(args, "model", None) is not None:
        over["model"] = args.model
    return load_settings(args.settings, **over)


# --------------------------------------------------------------------------- commands


def _iter_inputs(inputs: Sequence[str]) -> Iterator[tuple[str, Path | None]]:
    for item in inputs:
        if item.startswith(("http://", "https://")):
            yield item, None
            continue
        path = Path(item)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.suffix.lower() in DOC_SUFFIXES and p.is_file())
            if not files:
                raise BadInput(f"{path}: folder holds no .html, .htm or .txt files")
            for f in files:
                yield str(f), f
        elif path.is_file():
            if path.suffix.lower() not in DOC_SUFFIXES:
                raise BadInput(f"{path}: not an .html, .htm or .txt file")
            yield str(path), path
        else:
            raise BadInput(f"{path}: no such file, folder or http(s) URL")


def _print_text(doc: Any) -> None:
    print(f"# {doc.url}  ({doc.title or 'untitled'})")
    print(f"  sha256:{doc.sha256}  credibility {doc.score.credibility:.0f}/100  "
          f"promotional share {doc.score.promotional_share:.0%}  label {doc.score.label}")
    for c in doc.claims:
        v = c.verdict
        flags = "".join([" hedged" if c.hedged else "", " negated" if c.negated else ""])
        print(f"  [{v.label if v else '-':12}] {c.type:13} {c.text!r}{flags}")
        if v and v.label in ("overstated", "contradicted", "unsupported"):
            print(textwrap.indent(textwrap.fill(f"{v.why} ({v.citation}; finding {v.finding})", 100), "      "))
    for o in doc.omissions:
        print(f"  [omission    ] {o.label}: {o.why}")


def cmd_analyze(args: argparse.Namespace, settings: Settings) -> int:
    from . import analyze, archive, crawl
    from .records import Document, Skipped

    items = list(_iter_inputs(args.inputs))  # validate every input before any work
    res = analyze.load_resources(settings)
    docs: list[dict[str, Any]] = []
    failed = 0
    warc = None
    try:
        for name, path in items:
            if path is None:
                if warc is None:
                    warc = archive.WarcArchive(settings.archive, "analyze-" + time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()))
                    warc.__enter__()
                fetched = crawl.fetch_one(name, settings, warc)
                if isinstance(fetched, Skipped):
                    result: Document | Skipped = fetched
                else:  # analyse the bytes as archived, so the record traces to the WARC
                    body = archive.read_response(settings.archive, fetched.warc_file, fetched.warc_offset)[3]
                    result = analyze.analyze_fetch(fetched, body, res, settings)
            else:
                result = analyze.analyze_bytes(path.read_bytes(), url=path.resolve().as_uri(),
                                               content_type=DOC_SUFFIXES[path.suffix.lower()], res=res, settings=settings)
            if isinstance(result, Document):
                if args.format == "jsonl":
                    print(json.dumps(result.to_dict(), ensure_ascii=False), flush=True)
                elif args.format == "text":
                    _print_text(result)
                docs.append(result.to_dict())
            else:
                failed += 1
                print(f"claimaudit: {name}: skipped at {result.stage}: {result.reason}", file=sys.stderr)
    finally:
        if warc is not None:
            warc.__exit__(None, None, None)
    if args.format == "json":
        print(json.dumps(docs[0] if len(docs) == 1 else docs, ensure_ascii=False, indent=2))
    return EXIT_FAILED_DOCS if failed else EXIT_OK


def _summary_exit(summary: dict[str, Any]) -> int:
    print(f"run {summary['run_id']}: {summary['n_fetched']} fetched, {summary['n_documents']} documents, "
          f"{summary['n_skipped']} skipped, {summary['n_failed']} failed")
    for line in summary.get("failures", [])[:20]:
        print(f"  failed: {line}", file=sys.stderr)
    if summary.get("report"):
        print(f"report: {summary['report']}")
    return EXIT_FAILED_DOCS if summary["n_failed"] else EXIT_OK


def cmd_run(args: argparse.Namespace, settings: Settings, crawl_only: bool = False) -> int:
    from . import sources

    srcs = sources.load_sources(args.sources, settings)  # a bad sources file fails before Prefect starts
    if args.resume:
        from . import audit

        if not settings.db.exists():
            raise BadInput(f"{settings.db}: database not found, so there is no run to resume")
        audit.begin_run(settings.db, str(args.sources.resolve()), srcs, settings, args.resume)  # validates only
    import flows

    req = flows.AuditRequest(sources_file=str(args.sources.resolve()), db=str(settings.db),
                             archive=str(settings.archive), out=str(args.out) if getattr(args, "out", None) else None,
                             settings_file=str(args.settings) if args.settings else None,
                             delay_seconds=getattr(args, "delay", None), resume=args.resume)
    summary = flows.crawl_flow(req) if crawl_only else flows.audit_flow(req)
    return _summary_exit(summary)


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from . import sites

    out = args.out or (settings.reports / "demo")
    db = args.db or (settings.root / "data" / "demo" / "claimaudit.duckdb")
    archive_dir = db.parent / "archive"
    start = time.monotonic()
    with sites.serve_sites(settings.sites_dir) as origins, tempfile.TemporaryDirectory() as tmp:
        for name, origin in sorted(origins.items()):
            print(f"serving {name} at {origin}")
        src = sites.write_sources(origins, Path(tmp) / "sources.yaml")
        import flows

        req = flows.AuditRequest(sources_file=str(src), db=str(db), archive=str(archive_dir), out=str(out),
                                 settings_file=str(args.settings) if args.settings else None, delay_seconds=0.2)
        summary = flows.audit_flow(req)
    code = _summary_exit(summary)
    print(f"demo finished in {time.monotonic() - start:.0f} s; open {Path(summary['report']).resolve()}")
    return code


def cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    from . import audit

    if not settings.db.exists():
        raise BadInput(f"{settings.db}: database not found")
    print(audit.build_report(settings.db, args.out, args.run))
    return EXIT_OK


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from . import export, store

    if not settings.db.exists():
        raise BadInput(f"{settings.db}: database not found")
    con = store.open_db(settings.db)
    try:
        for path in export.export(con, args.out, args.format, args.run):
            print(path)
    finally:
        con.close()
    return EXIT_OK


def cmd_findings(args: argparse.Namespace, settings: Settings) -> int:
    from .findings import load_findings

    path = settings.findings_path
    if args.topic:
        candidate = Path(args.topic)
        path = candidate if candidate.suffix in (".yaml", ".yml") else settings.replace(topic=args.topic).findings_path
    fnd, version = load_findings(path)
    if args.format == "json":
        print(json.dumps(fnd.model_dump(), indent=2, ensure_ascii=False))
        return EXIT_OK
    print(f"{fnd.title} ({len(fnd.findings)} findings, version {version}, {path})\n")
    for f in fnd.findings:
        print(f"{f.id}  [{f.certainty}; {f.evidence_grade[:60]}]")
        print(textwrap.indent(textwrap.fill(f.statement, 100), "    "))
        for c in f.citations:
            ref = c.reference + (f" doi:{c.doi}" if c.doi else "") + (f" {c.url}" if c.url else "")
            print(textwrap.fill(ref, 100, initial_indent="    - ", subsequent_indent="      "))
        print(f"    judges {len(f.judges)} claim pattern(s)\n")
    return EXIT_OK


def cmd_train(args: argparse.Namespace, settings: Settings) -> int:
    from .classify import train

    card = train(settings.labelled_dir, settings.model, grid=not args.quick)
    t = card["test"]
    print(f"wrote {settings.model} (sha256 {card['model_sha256'][:12]}; {card['data']['n_train']} training sentences)")
    print(f"test split: n={t['n']} macro-F1 {t['macro_f1']:.3f} promotional precision {t['promotional_precision']:.3f}")
    return EXIT_OK


def _evaluate_language(settings: Settings) -> tuple[dict[str, Any], str]:
    from .classify import evaluate_model, is_test, load_labelled, load_model

    model = load_model(settings.model)
    rows = [r for r in load_labelled(settings.labelled_dir) if is_test(r.group)]
    metrics = evaluate_model(model.pipeline, rows)
    return metrics, _language_text(model.model_id, metrics)


def _language_text(model_id: str, metrics: dict[str, Any]) -> str:
    lines = [f"model {model_id}; held-out test split: {metrics['n']} sentences",
             f"macro-F1 {metrics['macro_f1']:.3f}   promotional precision {metrics['promotional_precision']:.3f}",
             f"{'class':12} {'precision':>9} {'recall':>7} {'f1':>6} {'support':>8}"]
    for lab, m in metrics["per_class"].items():
        lines.append(f"{lab:12} {m['precision']:9.3f} {m['recall']:7.3f} {m['f1-score']:6.3f} {int(m['support']):8d}")
    cm = metrics["confusion_matrix"]
    lines.append("confusion (rows true, cols predicted): " + " ".join(cm["labels"]))
    lines += [f"  {lab:12} {row}" for lab, row in zip(cm["labels"], cm["rows_true_cols_pred"])]
    return "\n".join(lines)


def _evaluate_claims(settings: Settings) -> tuple[dict[str, Any], str]:
    from .eval_claims import evaluate_claims

    return evaluate_claims(settings)


def _evaluate_verdicts(settings: Settings) -> tuple[dict[str, Any], str]:
    from .eval_verdicts import evaluate

    return evaluate(settings)


#: ``claimaudit evaluate WHAT``: each returns (metrics as JSON-able dict, text for people).
EVALUATORS = {"language": _evaluate_language, "claims": _evaluate_claims, "verdicts": _evaluate_verdicts}


def cmd_evaluate(args: argparse.Namespace, settings: Settings) -> int:
    metrics, text = EVALUATORS[args.what](settings)
    print(json.dumps(metrics, indent=2) if args.format == "json" else text)
    return EXIT_OK


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from . import sources

    sources.load_sources(args.sources, settings)
    import flows

    req = flows.AuditRequest(sources_file=str(args.sources.resolve()), db=str(settings.db),
                             archive=str(settings.archive), settings_file=str(args.settings) if args.settings else None)
    flows.serve(req, cron=args.cron, name=args.name)
    return EXIT_OK


COMMANDS = {
    "demo": cmd_demo, "run": cmd_run, "crawl": lambda a, s: cmd_run(a, s, crawl_only=True), "analyze": cmd_analyze,
    "report": cmd_report, "export": cmd_export, "findings": cmd_findings, "train": cmd_train,
    "evaluate": cmd_evaluate, "serve": cmd_serve,
}


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        _configure_logging(args.verbose)
        settings = settings_from_args(args)
        return COMMANDS[args.command](args, settings)
    except (BadInput, ModelError) as err:
        print(f"claimaudit: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except ClaimauditError as err:
        print(f"claimaudit: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("claimaudit: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
