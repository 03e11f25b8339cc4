pytest_plugins = ["tests.stack_fixture"]
