# SPDX-License-Identifier: GPL-3.0-or-later
"""``lpt serve``: run the geoservice (pygeoapi + our providers) under gunicorn."""
from __future__ import annotations

import os
import sys
from pathlib import Path


def _serve(args) -> int:
    try:
        import gunicorn  # noqa: F401

        from geoservice.app import ENV_CONFIG, ENV_RUNTIME, prepare_runtime
        from geoservice.config import ConfigError, load_config, parse_config
    except ImportError as exc:
        print(f"lpt serve: the service extras are missing ({exc.name}); install them with "
              "pip install -e '.[service]' (or bash scripts/setup.sh)", file=sys.stderr)
        return 1
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
          f"{f' x {threads} threads' if threads > 1 else ''}); health: {url}/health",
          flush=True)
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


def register(sub) -> None:
    sv = sub.add_parser("serve", help="run the OGC API geoservice under gunicorn")
    sv.add_argument("--config", help="service YAML (store, auth, disclosure, audit); without "
                                     "it the --store is served to the public caller only")
    sv.add_argument("--host", default="127.0.0.1")
    sv.add_argument("--port", type=int, default=5000)
    sv.add_argument("--workers", type=int, default=2)
    sv.add_argument("--worker-class", choices=("gthread", "sync"), default="gthread",
                    help="gunicorn worker class (default gthread: a cached answer does not "
                         "wait behind a slow one; see benchmarks/README.md)")
    sv.add_argument("--threads", type=int, default=8,
                    help="threads per gthread worker (default 8)")
    sv.add_argument("--timeout", type=int, default=60, help="worker timeout, seconds")
    sv.set_defaults(func=_serve)
