"""A Pulumi program that builds whatever component `data_programs.run_component` was given."""

from tests.components.data_programs import build_pending

build_pending()
