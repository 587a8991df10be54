"""RedFire's CDK app: one stack per stage, driven by ``redfire_core.resources``."""
