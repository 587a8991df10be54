"""cdk-nag wiring: the AwsSolutions pack on the whole app, acknowledgements per resource."""

from __future__ import annotations

from aws_cdk import Acknowledgment, App, Validations
from cdk_nag import AwsSolutionsChecks
from constructs import Construct

NAG_PACK = "AwsSolutions"


def add_nag_checks(app: App) -> None:
    """Run the AwsSolutions rules on every synth; an unacknowledged finding fails it."""
    Validations.of(app).add_plugins(AwsSolutionsChecks(app))


def acknowledge(scope: Construct, finding: str, reason: str) -> None:
    """Record a reviewed finding (e.g. ``AwsSolutions-L1``) on one construct and its children,
    never on the stack. The ``<pack>::`` form makes CDK list the finding with its reason under
    ``suppressedViolations`` in ``validation-report.json``, an audit trail of every waiver."""
    Validations.of(scope).acknowledge(Acknowledgment(id=f"{NAG_PACK}::{finding}", reason=reason))
