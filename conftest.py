"""The workspace's pytest plugins, loaded here rather than as installed entry points, so a
service image (which has no pytest) never carries a plugin registration."""

pytest_plugins = ["hspm.common.testing.plugin", "hspm.devstack.oci_fixtures"]
