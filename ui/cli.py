"""The `byline` console script: qa's commands plus `serve`, which starts the browser UI.

qa must not import ui, so the entry point lives here: it takes qa's parser, adds `serve`,
and hands every other subcommand back to qa.cli. Gradio is imported only for `serve`, so
`byline --help` and `byline ask` stay fast.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import threading
from collections.abc import Sequence

from qa import cli as qa_cli

SERVE_HELP = "open the browser UI (a local web page) on the archive"
SERVE_EXAMPLE = "example: byline serve --port 7860   then open http://127.0.0.1:7860"


def build_parser() -> argparse.ArgumentParser:
    parser = qa_cli.build_parser()
    subparsers = next(
        action for action in parser._actions if isinstance(action, argparse._SubParsersAction)
    )
    serve = subparsers.add_parser(
        "serve", help=SERVE_HELP, description=f"{SERVE_HELP}. {SERVE_EXAMPLE}"
    )
    serve.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default: 127.0.0.1, only this computer), "
        "e.g. --host 0.0.0.0 to allow others on the network",
    )
    serve.add_argument(
        "--port",
        type=_port,
        default=7860,
        help="port to listen on (default: 7860), e.g. --port 8080",
    )
    serve.add_argument(
        "--index",
        metavar="DIR",
        default=None,
        help="index folder to serve (default: $BYLINE_INDEX or the per-user default index, "
        "built from the bundled archive on first use), e.g. --index ./my-index",
    )
    serve.add_argument(
        "--allow-private-urls",
        action="store_true",
        help="let feed URLs entered in the browser point at loopback, private and "
        "link-local addresses (default: refused, so the server never fetches from its own "
        "network for a visitor), e.g. --allow-private-urls for an intranet feed",
    )
    serve.add_argument(
        "--concurrency",
        type=functools.partial(qa_cli.positive_int, example="4"),
        default=None,
        metavar="N",
        help="questions answered at once (default: $BYLINE_CONCURRENCY or 4), e.g. --concurrency 8",
    )
    qa_cli.add_store_option(serve)
    serve.set_defaults(handler=_cmd_serve)
    return parser


def _port(value: str) -> int:
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {value!r}") from None
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError(f"a port is 1-65535, got {port}; e.g. --port 7860")
    return port


def _cmd_serve(args: argparse.Namespace) -> int:
    from qa.settings import Settings
    from ui.access import PASSWORD_VARIABLE, ArchiveAccess
    from ui.app import build_app, launch_app, warm_up

    if args.store:
        # Every qa call the app makes (questions, article views, rebuilds) resolves its
        # settings from the environment: this is the flag's place in that order.
        os.environ["BYLINE_STORE"] = args.store
    concurrency = args.concurrency or Settings.resolve(index=args.index).concurrency
    # Load the index and model (building the default index on first use) while the server
    # starts, so the first question does not wait for them.
    threading.Thread(target=warm_up, args=(args.index,), daemon=True).start()
    access = ArchiveAccess.for_host(
        args.host,
        os.environ.get(PASSWORD_VARIABLE),
        allow_private_urls=args.allow_private_urls,
    )
    if access.read_only:
        print(f"note: {access.read_only}", file=sys.stderr)
    app = build_app(args.index, access=access, concurrency=concurrency)
    launch_app(app, host=args.host, port=args.port)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Parse and dispatch like qa.cli: bad flags -> 2, a BylineError -> stderr and 1."""
    return qa_cli.run(build_parser(), argv)


if __name__ == "__main__":
    sys.exit(main())
