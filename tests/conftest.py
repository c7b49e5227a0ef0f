"""Every test folder's shared fixtures and helpers live in tests/support/; the plugins among them are
loaded here, once, for the whole suite (pytest reads `pytest_plugins` only from the root conftest).
A test module imports helpers from tests/support/, never from a conftest."""

pytest_plugins = [
    "tests.support.stacks",       # prod, staging, prod_preview, ... run_stack
    "tests.support.policy_pack",  # analyze, program, preview, pack_pool, staging_preview
    "tests.support.bootstrap",    # bootstrap, bootstrap_policy_config, run_bootstrap_with
    "tests.support.app_stores",   # postgres, db, aws, stripe_api, redis_server, cache_admin,
                                  # search_domain, catalog, written_logs, stores
    "tests.support.app_clients",  # runtime, api, alice, bob, drain, served, service, storefront, alb, admin
]
