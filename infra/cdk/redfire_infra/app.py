"""The CDK app: ``RedFire-<stage>`` for the stage named by ``-c stage=<name>`` (default dev),
checked by cdk-nag's AwsSolutions pack on every synth."""

from __future__ import annotations

from typing import Any

from aws_cdk import App

from redfire_infra.nag import add_checkov_skips, add_nag_checks
from redfire_infra.stack import RedFireStack
from redfire_infra.stage_config import (
    STAGE_CONTEXT_KEY,
    STAGES_CONTEXT_KEY,
    stage_config_from_context,
)


def build_app(
    context: dict[str, Any] | None = None, outdir: str | None = None
) -> tuple[App, RedFireStack]:
    """The app with its one stack and the nag checks; ``context`` adds to cdk.json's own."""
    app = App(context=context, outdir=outdir)
    config = stage_config_from_context(
        {key: app.node.try_get_context(key) for key in (STAGE_CONTEXT_KEY, STAGES_CONTEXT_KEY)}
    )
    # No env: the template is account- and region-agnostic, so synth needs no credentials.
    stack = RedFireStack(app, config=config)
    add_nag_checks(app)
    add_checkov_skips(app)
    return app, stack


def main() -> None:
    app, _ = build_app()
    app.synth()


if __name__ == "__main__":
    main()
