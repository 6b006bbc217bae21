# SPDX-License-Identifier: GPL-3.0-or-later
"""The service's own commands: ``python -m geoservice serve|audit|demo-serve``.

``lpt serve``, ``lpt audit`` and ``lpt demo --serve`` hand their arguments to these (the
``lpt`` command is a front of its own and never imports the service).
"""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main"]


def _missing_extras(exc: ImportError, prog: str) -> int:
    print(f"{prog}: the service extras are missing ({exc.name}); install them with "
          "pip install -e '.[service]' (or bash scripts/setup.sh)", file=sys.stderr)
    return 1


def _serve(args) -> int:
    try:
        import gunicorn  # noqa: F401

        from geoservice.app import ENV_CONFIG, ENV_RUNTIME, prepare_runtime
        from geoservice.config import ConfigError, load_config, parse_config
    except ImportError as exc:
        return _missing_extras(exc, "lpt serve")
    try:
        if args.config:
            cfg = load_config(args.config)
            config_path = str(Path(args.config).resolve())
        else:
            if not Path(args.store).exists() and "://" not in args.store:
                print(f"lpt serve: store {args.store} does not exist; give --store or "
                      "--config", file=sys.stderr)
                return 2
            store = args.store if "://" in args.store else str(Path(args.store).resolve())
            cfg = parse_config({"store": store, "audit": {
                "path": str(Path(store).with_suffix(".audit.jsonl")) if "://" not in store
                else "lpt-audit.jsonl"}})
            config_path = None
    except ConfigError as exc:
        print(f"lpt serve: {exc}", file=sys.stderr)
        return 2
    runtime = prepare_runtime(cfg, host=args.host, port=args.port)
    if config_path is None:
        import yaml

        config_path = str(runtime / "service.yml")
        Path(config_path).write_text(yaml.safe_dump({
            "store": cfg.store, "audit": {"path": cfg.audit_path}}), encoding="utf-8")
    url = cfg.url or f"http://{args.host}:{args.port}"
    threads = args.threads if args.worker_class == "gthread" else 1
    print(f"serving {url} (store {cfg.store}, {args.workers} {args.worker_class} workers"
          f"{f' x {threads} threads' if threads > 1 else ''}); health: {url}/health; "
          f"runtime {runtime}", flush=True)
    env = dict(os.environ, **{ENV_CONFIG: config_path, ENV_RUNTIME: str(runtime)})
    argv = [sys.executable, "-m", "gunicorn", "--bind", f"{args.host}:{args.port}",
            "--workers", str(args.workers), "--worker-class", args.worker_class,
            *(["--threads", str(threads)] if args.worker_class == "gthread" else []),
            "--preload",
            "--timeout", str(args.timeout), "--graceful-timeout", "10",
            "--error-logfile", "-", "--log-level", "warning",
            "geoservice.app:create_app()"]
    os.execve(sys.executable, argv, env)
    return 0  # pragma: no cover - execve does not return


def _demo_serve(args) -> int:
    """Serve a demo store with a demo sign-in; prints the officer page's address."""
    try:
        from geoservice.demo_idp import write_demo_service
    except ImportError as exc:
        return _missing_extras(exc, "lpt demo")
    config = write_demo_service(os.path.join(args.out, "service"), args.store)
    url = f"http://{args.host}:{args.port}"
    print(f"\nofficer map page: {url}/app/  (demo sign-in: pick a beat officer)")
    print(f"OGC API: {url}/collections  (Ctrl-C stops the service)", flush=True)
    args.config = str(config)
    return _serve(args)


def _audit_log_path(args) -> str:
    if args.log:
        return args.log
    if args.config:
        from geoservice.config import load_config

        return load_config(args.config).audit_path
    raise SystemExit("lpt audit: give --log FILE or --config SERVICE.yml")


def _audit_export(args) -> int:
    from geoservice.audit import export

    text = export(_audit_log_path(args), fmt=args.format, since=args.since, until=args.until,
                  sub=args.sub)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def _audit_verify(args) -> int:
    from geoservice.audit import verify

    n, problem = verify(_audit_log_path(args))
    if problem:
        print(f"audit log broken: {problem}", file=sys.stderr)
        return 1
    print(f"audit log intact: {n} entries")
    return 0


def _serve_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--store", default=os.environ.get("LPT_STORE") or "lpt.gpkg",
                   help="GeoPackage path or postgresql:// URL (default: $LPT_STORE or ./lpt.gpkg)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5000)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--worker-class", choices=("gthread", "sync"), default="gthread",
                   help="gunicorn worker class (default gthread: a cached answer does not "
                        "wait behind a slow one; see benchmarks/README.md)")
    p.add_argument("--threads", type=int, default=8, help="threads per gthread worker (default 8)")
    p.add_argument("--timeout", type=int, default=60, help="worker timeout, seconds")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lpt", description="The geoservice's commands.")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sv = sub.add_parser("serve", help="run the OGC API geoservice under gunicorn")
    sv.add_argument("--config", help="service YAML (store, auth, disclosure, audit); without "
                                     "it the --store is served to the public caller only")
    _serve_options(sv)
    sv.set_defaults(func=_serve)
    ds = sub.add_parser("demo-serve", help="serve a demo store with the demo sign-in")
    ds.add_argument("--out", required=True, help="the demo's folder")
    _serve_options(ds)
    ds.set_defaults(func=_demo_serve, timeout=120)
    au = sub.add_parser("audit", help="export or verify the geoservice audit log")
    ausub = au.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    for name, func, helptext in (("export", _audit_export, "entries as JSON Lines or CSV"),
                                 ("verify", _audit_verify, "check the hash chain")):
        a = ausub.add_parser(name, help=helptext)
        a.add_argument("--log", help="the audit log (JSON Lines)")
        a.add_argument("--config", help="service YAML naming the log")
        if name == "export":
            a.add_argument("--format", choices=["jsonl", "csv"], default="jsonl")
            a.add_argument("--since", help="ISO time, inclusive")
            a.add_argument("--until", help="ISO time, exclusive")
            a.add_argument("--sub", help="only this user")
            a.add_argument("--output", "-o", help="file to write (default stdout)")
        a.set_defaults(func=func)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return int(args.func(args) or 0)
