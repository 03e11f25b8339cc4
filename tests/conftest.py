pytest_plugins = [
    "tests.stack_fixture",
    "tests.unit.contacts_plugin",
    "tests.unit.feedback_plugin",
    "tests.unit.offboarding_plugin",
    "tests.unit.loyalty_plugin",
]
