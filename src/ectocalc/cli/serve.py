"""``ectocalc serve``: the clinician web application (contract §1, §6)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ectocalc.cli import app
from ectocalc.cli.record import DbOption

_LOOPBACK = {"127.0.0.1", "::1", "localhost"}


@app.command("serve")
def serve(
    db: DbOption = None,
    host: Annotated[str, typer.Option(
        "--host", help="Address to listen on (loopback by default; put HTTPS in front of "
                       "any other).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="TCP port.")] = 8000,
    data_dir: Annotated[Path | None, typer.Option(
        "--data-dir", help="Folder for imported CT series and their outputs; default "
                           "$ECTOCALC_DATA_DIR, else web/ in the user's data folder.")] = None,
    max_upload_mb: Annotated[int, typer.Option(
        "--max-upload-mb", min=1, help="Largest accepted upload, MB.")] = 1024,
    trusted_proxy: Annotated[list[str] | None, typer.Option(
        "--trusted-proxy", help="Address or network of a reverse proxy whose X-Forwarded-For "
                                "and X-Forwarded-Proto are believed (repeatable); default "
                                "$ECTOCALC_TRUSTED_PROXIES (comma-separated), else none.")] = None,
) -> None:
    """Serve the web application: patient list, patient pages, CT viewer and the /api."""
    import os

    import uvicorn

    from ectocalc.web import TRUSTED_PROXIES_ENV, WebConfig, configure_server_logging, create_app

    configure_server_logging()
    proxies = tuple(trusted_proxy or os.environ.get(TRUSTED_PROXIES_ENV, "").split(","))
    config = WebConfig(db_url=db, data_dir=data_dir, max_upload_bytes=max_upload_mb * 2**20,
                       trusted_proxies=tuple(p for p in proxies if p.strip()))
    application = create_app(config)
    if host not in _LOOPBACK:
        typer.echo("warning: serving beyond this machine: terminate HTTPS in a proxy in front "
                   "(cookies are marked Secure when the proxy forwards https)", err=True)
    typer.echo(f"ectocalc web on http://{host}:{port}/ (record {application.state.web.store.url})")
    # access_log off: uvicorn would log request paths, which carry patient ids; the app logs
    # route templates instead (ectocalc.web.access).
    # proxy_headers off: uvicorn would believe X-Forwarded-For from loopback; the app's own
    # ProxyHeaders middleware believes only --trusted-proxy peers.
    uvicorn.run(application, host=host, port=port, access_log=False, log_config=None,
                server_header=False, proxy_headers=False)
