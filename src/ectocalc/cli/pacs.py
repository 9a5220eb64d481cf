"""``ectocalc pacs scan|watch``: score CT studies on a PACS over DICOMweb (contract §9)."""

from __future__ import annotations

import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from ectocalc.cli import app

pacs_app = typer.Typer(name="pacs", help="Score CT studies on a PACS (DICOMweb).",
                       no_args_is_help=True)
app.add_typer(pacs_app)

UrlArgument = Annotated[str, typer.Argument(
    help="DICOMweb service root, e.g. http://127.0.0.1:8042/dicom-web (Orthanc).")]
TokenOption = Annotated[str | None, typer.Option(
    "--token", envvar="ECTOCALC_PACS_TOKEN",
    help="Bearer token; without it, the netrc entry of the host ($NETRC or ~/.netrc).")]


class Feed(StrEnum):
    auto = "auto"
    orthanc = "orthanc"
    qido = "qido"


@pacs_app.command("scan")
def scan(
    url: UrlArgument,
    study: Annotated[str, typer.Option("--study", help="Study Instance UID.")],
    series: Annotated[str | None, typer.Option(
        "--series", help="Score this series only (default: every CT series that can be).")
    ] = None,
    store: Annotated[bool, typer.Option(
        "--store", help="Send the SEG and SR back into the study (STOW-RS).")] = False,
    token: TokenOption = None,
) -> None:
    """Retrieve a study's CT, quantify calcification, optionally store SEG + SR back."""
    from ectocalc.pacs import connect, scan_study

    for outcome in scan_study(connect(url, token=token), url, study, series_uid=series,
                              store=store):
        if outcome.result is None:
            typer.echo(f"series {outcome.series_uid}: not scored: {outcome.reason}")
            continue
        stored = f"; stored {', '.join(outcome.stored)}" if outcome.stored else ""
        result = outcome.result
        typer.echo(f"series {outcome.series_uid}: Agatston {result.agatston:.1f}, "
                   f"{len(result.lesions)} lesions{stored}")


@pacs_app.command("watch")
def watch(
    url: UrlArgument,
    state: Annotated[Path, typer.Option(
        "--state", help="State file: studies done or failed, feed position (resumable).")
    ] = Path("pacs-watch.json"),
    once: Annotated[bool, typer.Option("--once", help="One pass, then exit.")] = False,
    interval: Annotated[float, typer.Option(
        "--interval", min=1.0, help="Seconds between passes.")] = 30.0,
    feed: Annotated[Feed, typer.Option(
        "--feed", help="auto (Orthanc's change feed when the server is Orthanc), orthanc, "
                       "or qido (polling by StudyDate).")] = Feed.auto,
    token: TokenOption = None,
) -> None:
    """Score and store SEG + SR for every new study, once each; failures are listed."""
    from ectocalc.pacs import WatchState, connect, session, watch_pass

    client, http = connect(url, token=token), session(token)
    progress = WatchState.load(state)
    while True:
        for study in watch_pass(url, client=client, http=http, state=progress,
                                state_path=state, feed=feed.value):
            detail = (f"Agatston {study.agatston:.1f}" if study.status == "done"
                      else study.reason)
            typer.echo(f"{study.status} {study.study_uid}: {detail}")
        if once:
            return
        time.sleep(interval)
