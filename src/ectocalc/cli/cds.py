"""``ectocalc cds trust ISS JWKS_URL``: the EHRs the CDS Hooks service trusts (contract §8)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ectocalc.cli import app

cds_app = typer.Typer(name="cds", help="The CDS Hooks service (EHR integration).",
                      no_args_is_help=True)
app.add_typer(cds_app)

TrustFileOption = Annotated[Path | None, typer.Option(
    "--trust-file", help="Trust file; default $ECTOCALC_CDS_TRUST, else cds-trust.json in the "
                         "user's configuration folder (what `ectocalc serve` reads).")]


@cds_app.command("trust")
def trust(
    iss: Annotated[str, typer.Argument(help="The EHR's JWT issuer (`iss` claim), exactly.")],
    jwks_url: Annotated[str, typer.Argument(help="URL of the EHR's JWK Set (public keys).")],
    jku: Annotated[list[str] | None, typer.Option(
        "--jku", help="A further JWK Set URL this EHR may name in a token's `jku` header "
                      "(repeatable).")] = None,
    trust_file: TrustFileOption = None,
) -> None:
    """Trust an EHR: its signed JWTs are accepted on CDS Hooks calls."""
    from ectocalc.cds import default_trust_file, trust_issuer

    path = trust_file or default_trust_file()
    issuer = trust_issuer(path, iss, jwks_url, jku=tuple(jku or ()))
    typer.echo(f"trusted {issuer.iss} (JWK Set {issuer.jwks_url}) in {path}")


@cds_app.command("issuers")
def issuers(trust_file: TrustFileOption = None) -> None:
    """List the trusted EHRs."""
    from ectocalc.cds import default_trust_file, read_trust

    for issuer in read_trust(trust_file or default_trust_file()).values():
        typer.echo(f"{issuer.iss}\t{issuer.jwks_url}\t{' '.join(issuer.jku)}")
