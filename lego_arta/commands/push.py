"""``lego-arta push DIR --repo ORG/NAME``: upload a built folder to the Hugging Face Hub (huggingface_hub)."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from lego_arta.errors import stderr_console

HELP = "upload a built dataset folder to the Hugging Face Hub"
GROUP = "dataset"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from lego_arta.dataset.push import DEFAULT_COMMIT_MESSAGE

    parser.add_argument("folder", type=Path, metavar="DIR", help="a folder written by `lego-arta build`")
    parser.add_argument("--repo", required=True, metavar="ORG/NAME", help="dataset repo to create or update")
    parser.add_argument("--endpoint", default=None, help="Hub URL (default: $HF_ENDPOINT or https://huggingface.co)")
    parser.add_argument("--token", default=None, help="access token (default: $HF_TOKEN or the token saved by `hf auth login`)")
    parser.add_argument("--private", action="store_true", help="create the repo private (an existing repo keeps its visibility)")
    parser.add_argument("--revision", default=None, help="branch to commit to (default: main)")
    parser.add_argument("--message", default=None, help=f"commit message (default: {DEFAULT_COMMIT_MESSAGE!r})")
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bars")


def summary_lines(result) -> list[str]:
    """What a push did, one line per fact, for people."""
    from lego_arta.dataset.layout import MANIFEST

    if result.commits:
        lines = [
            f"pushed {result.files_uploaded} file(s), {result.bytes_uploaded:,} bytes, to {result.repo_url} "
            f"in {result.commits} commit(s): {result.commit_url}"
        ]
    else:
        lines = [f"{result.repo_url} already holds this build: nothing to commit"]
    if result.unchanged:
        lines.append(f"{len(result.unchanged)} file(s) already on the Hub unchanged, not sent again")
    if result.deleted:
        shown = ", ".join(result.deleted[:5]) + (" …" if len(result.deleted) > 5 else "")
        lines.append(f"deleted {len(result.deleted)} stale file(s) of an older build: {shown}")
    lines.extend(f"not uploaded (not listed in {MANIFEST}): {path}" for path in result.unlisted)
    return lines


def _push_errors() -> tuple[type[BaseException], ...]:
    """What a failed exchange with the Hub raises: ``OSError`` (``HfHubHTTPError``, offline mode, local
    I/O) and, since huggingface_hub 1.0, the transport errors of its HTTP client (refused, timed out)."""
    try:
        from httpx2 import HTTPError as TransportError
    except ImportError:
        try:
            from httpx import HTTPError as TransportError
        except ImportError:
            return (OSError,)
    return (OSError, TransportError)


def run(args: argparse.Namespace) -> int:
    """0 pushed, 2 folder refused (nothing uploaded), 1 the Hub refused or could not be reached."""
    from lego_arta.dataset.push import BuiltFolderError, push_dataset

    console = Console()
    try:
        result = push_dataset(
            args.folder,
            args.repo,
            token=args.token,
            endpoint=args.endpoint,
            private=args.private,
            revision=args.revision,
            commit_message=args.message,
            progress=args.progress,
        )
    except BuiltFolderError as error:
        stderr_console.print(f"[red]refused:[/red] {escape(str(error))}")
        return 2
    except _push_errors() as error:
        stderr_console.print(f"[red]push failed:[/red] {type(error).__name__}: {escape(str(error))}")
        return 1
    for line in summary_lines(result):
        console.print(line, markup=False, highlight=False)
    return 0
