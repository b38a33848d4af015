"""Publishable: metadata.yaml for Airbyte's registry, the docs page, the icon, and the wheel.

The wheel test builds the package as pip would for an install, installs it into a fresh virtual
environment without re-resolving anything (`--no-deps --no-index`; the dependencies come from this
environment's site-packages through a path entry, whose own .pth files, such as this checkout's
editable install, are not processed), and runs `source-sentry spec` and `discover` from there.
The build itself uses hatchling: offline when hatchling is installed here, otherwise pip fetches
it into an isolated build environment (from its cache or the package index).
"""
from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import uuid
import venv
import zipfile
from pathlib import Path
from typing import Any, Dict, List
from xml.etree import ElementTree

import pytest
import yaml
from airbyte_cdk.models.connector_metadata import ConnectorLanguage, MetadataFile
from packaging.requirements import Requirement

from harness import config_for, discover

tomllib = pytest.importorskip("tomllib")

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
VERSION = PYPROJECT["project"]["version"]
METADATA = yaml.safe_load((ROOT / "metadata.yaml").read_text())
MANIFEST = yaml.safe_load((ROOT / "source_sentry" / "manifest.yaml").read_text())
DOCS = (ROOT / "docs" / "sentry.md").read_text()

# Required by Airbyte's ConnectorMetadataDefinitionV0 (metadata_service), with their enums.
REQUIRED = ["name", "definitionId", "connectorType", "dockerRepository", "dockerImageTag", "license",
            "documentationUrl", "githubIssueLabel", "connectorSubtype", "releaseStage"]
SUBTYPES = {"api", "database", "datalake", "file", "custom", "message_queue", "unknown", "vectorstore"}
RELEASE_STAGES = {"alpha", "beta", "generally_available", "custom"}
SUPPORT_LEVELS = {"community", "certified", "archived"}


# Subprocesses see only what they install or are given: no PYTHONPATH of the caller's.
CLEAN_ENV = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME")}


def spec_message(lines: List[str]) -> Dict[str, Any]:
    (spec,) = [json.loads(line)["spec"] for line in lines if line.startswith("{") and json.loads(line)["type"] == "SPEC"]
    return spec


# ------------------------------------------------------------------------------------------------
# metadata.yaml
# ------------------------------------------------------------------------------------------------

def test_given_metadata_yaml_then_it_has_every_field_the_registry_requires():
    data = METADATA["data"]

    assert METADATA["metadataSpecVersion"] == "1.0"
    assert [field for field in REQUIRED if not data.get(field)] == []
    assert (data["connectorType"], data["connectorSubtype"]) == ("source", "api")
    assert data["connectorSubtype"] in SUBTYPES and data["releaseStage"] in RELEASE_STAGES and data["supportLevel"] in SUPPORT_LEVELS
    assert str(uuid.UUID(data["definitionId"])) == data["definitionId"]
    assert data["name"] == "Sentry" and data["githubIssueLabel"] == "source-sentry" and data["license"] == "MIT"
    assert {"cdk:low-code", "language:python"} <= set(data["tags"])
    assert {"${hostname}", "sentry.io", "*.sentry.io"} <= set(data["allowedHosts"]["hosts"])
    assert data["registryOverrides"] == {"cloud": {"enabled": False}, "oss": {"enabled": True}}
    assert data["remoteRegistries"]["pypi"]["packageName"] == PYPROJECT["project"]["name"]
    assert (ROOT / "icon.svg").is_file() and data["icon"] == "sentry.svg"


def test_given_metadata_yaml_then_its_image_tag_is_the_package_version_and_its_docs_are_the_specs():
    data = METADATA["data"]

    assert data["dockerImageTag"] == VERSION
    assert data["dockerRepository"].split("/")[-1] == PYPROJECT["project"]["name"] == "source-sentry"
    assert data["documentationUrl"] == MANIFEST["spec"]["documentation_url"]


def test_given_metadata_yaml_when_the_cdk_reads_it_for_an_image_build_then_it_is_a_python_connector_on_a_pinned_base():
    metadata = MetadataFile.from_file(ROOT / "metadata.yaml")

    assert metadata.data.language == ConnectorLanguage.PYTHON
    assert re.fullmatch(r"docker\.io/airbyte/python-connector-base:\d+\.\d+\.\d+@sha256:[0-9a-f]{64}", metadata.data.connectorBuildOptions.baseImage)
    assert f"{metadata.data.dockerRepository}:{metadata.data.dockerImageTag}" == f"source-sentry/source-sentry:{VERSION}"


def test_given_the_manifest_then_its_version_is_the_cdk_pinned_by_pyproject():
    (cdk,) = [Requirement(dep) for dep in PYPROJECT["project"]["dependencies"] if Requirement(dep).name == "airbyte-cdk"]

    assert cdk.specifier.contains(MANIFEST["version"])
    assert f">={MANIFEST['version']}" in str(cdk.specifier)


# ------------------------------------------------------------------------------------------------
# docs/sentry.md and icon.svg
# ------------------------------------------------------------------------------------------------

def test_given_the_docs_page_then_it_has_airbytes_sections_and_its_latest_version_is_the_packages():
    headings = re.findall(r"^## (.+)$", DOCS, flags=re.M)
    changelog = DOCS.split("## Changelog", 1)[1]
    versions = re.findall(r"^\| (\d+\.\d+\.\d+) \|", changelog, flags=re.M)

    assert headings == ["Prerequisites", "Setup guide", "Supported sync modes", "Supported streams", "Data type map",
                        "Limitations & troubleshooting", "Build the Docker image", "Changelog"]
    assert versions[0] == VERSION


def test_given_the_docs_streams_table_then_it_is_the_discovered_catalog(shared_emulator):
    table = DOCS.split("## Supported streams", 1)[1].split("\n\n", 2)[1]
    rows = [[cell.strip() for cell in line.strip("|").split("|")] for line in table.splitlines()[2:]]
    documented = {row[0]: (row[2], row[3], row[4]) for row in rows}

    catalog = discover(config_for(shared_emulator)).catalog.catalog

    assert documented == {
        stream.name: (
            ", ".join(path[0] for path in stream.source_defined_primary_key),
            (stream.default_cursor_field or [""])[0],
            ", ".join(mode.value for mode in stream.supported_sync_modes),
        )
        for stream in catalog.streams
    }


def test_given_the_icon_then_it_is_a_square_svg():
    root = ElementTree.parse(ROOT / "icon.svg").getroot()

    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    assert root.get("viewBox") == "0 0 64 64" and root.get("width") == root.get("height") == "64"


# ------------------------------------------------------------------------------------------------
# the wheel
# ------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def installed_wheel(tmp_path_factory) -> Dict[str, Path]:
    """The package built as a wheel and installed alone into a fresh venv."""
    work = tmp_path_factory.mktemp("wheel")
    source, dist, env = work / "src", work / "dist", work / "venv"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        (source / name).write_text((ROOT / name).read_text())
    # The checkout's Python packages, the emulator included: the build configuration must leave it out.
    for package in ("source_sentry", "sentry_emulator"):
        shutil.copytree(ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    offline = ["--no-build-isolation"] if importlib.util.find_spec("hatchling") else []
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", *offline, "-w", str(dist), str(source)], check=True, capture_output=True)
    (wheel,) = dist.glob("*.whl")

    venv.EnvBuilder(with_pip=True).create(env)  # ensurepip: offline, from the interpreter's bundled wheel
    python = env / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True, capture_output=True)
    # Then the dependencies: this environment's site-packages as a plain path entry.
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], check=True, capture_output=True, text=True).stdout.strip()
    (Path(site) / "_dependencies_from_dev_env.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return {"wheel": wheel, "python": python, "script": env / "bin" / "source-sentry", "work": work}


def test_given_the_wheel_then_it_holds_the_manifest_every_schema_and_the_console_script(installed_wheel):
    names = set(zipfile.ZipFile(installed_wheel["wheel"]).namelist())
    entry_points = zipfile.ZipFile(installed_wheel["wheel"]).read(f"source_sentry-{VERSION}.dist-info/entry_points.txt").decode()

    assert installed_wheel["wheel"].name == f"source_sentry-{VERSION}-py3-none-any.whl"
    assert "source_sentry/manifest.yaml" in names
    assert {f"source_sentry/schemas/{path.name}" for path in (ROOT / "source_sentry" / "schemas").glob("*.json")} <= names
    assert "source-sentry = source_sentry.run:run" in entry_points


def test_given_the_wheel_then_it_ships_the_connector_alone_without_the_emulator(installed_wheel):
    names = zipfile.ZipFile(installed_wheel["wheel"]).namelist()
    found = subprocess.run([str(installed_wheel["python"]), "-c", "import importlib.util; print(importlib.util.find_spec('sentry_emulator'))"],
                           cwd=installed_wheel["work"], env=CLEAN_ENV, check=True, capture_output=True, text=True).stdout.strip()

    assert {name.split("/", 1)[0] for name in names} == {"source_sentry", f"source_sentry-{VERSION}.dist-info"}
    assert [name for name in names if "sentry_emulator" in name] == []
    assert found == "None"


def test_given_the_installed_wheel_when_running_source_sentry_spec_then_it_prints_the_manifests_spec(installed_wheel):
    where = subprocess.run([str(installed_wheel["python"]), "-c", "import source_sentry; print(source_sentry.__file__)"],
                           cwd=installed_wheel["work"], env=CLEAN_ENV, check=True, capture_output=True, text=True).stdout.strip()
    run = subprocess.run([str(installed_wheel["script"]), "spec"], cwd=installed_wheel["work"], env=CLEAN_ENV, capture_output=True, text=True, timeout=60)

    assert where.startswith(str(installed_wheel["work"] / "venv")), where
    assert run.returncode == 0, run.stderr
    spec = spec_message(run.stdout.splitlines())
    assert spec["connectionSpecification"] == json.loads(json.dumps(MANIFEST["spec"]["connection_specification"]))
    assert spec["documentationUrl"] == MANIFEST["spec"]["documentation_url"]


def test_given_the_installed_wheel_when_discovering_then_every_stream_has_its_schema_file(installed_wheel, shared_emulator):
    config_path = installed_wheel["work"] / "config.json"
    config_path.write_text(json.dumps(config_for(shared_emulator)))

    run = subprocess.run([str(installed_wheel["script"]), "discover", "--config", str(config_path)],
                         cwd=installed_wheel["work"], env=CLEAN_ENV, capture_output=True, text=True, timeout=60)

    (catalog,) = [json.loads(line)["catalog"] for line in run.stdout.splitlines() if line.startswith('{"type":"CATALOG"')]
    schemas = {stream["name"]: stream["json_schema"] for stream in catalog["streams"]}
    assert schemas == {path.stem: json.loads(path.read_text()) for path in (ROOT / "source_sentry" / "schemas").glob("*.json")}


# The CDK's default schema loader takes the package of the FIRST loaded module whose name contains
# 'source_'; where boto3 is installed (PyAirbyte brings it) that is multiprocessing.resource_tracker.
# The manifest's schema loader names the package in its path, so no loaded module can shadow it.
def test_given_a_module_named_like_a_source_is_loaded_first_when_discovering_then_schemas_are_still_found(tmp_path, shared_emulator):
    config_path = tmp_path / "config.json"
    config_path.write_text(json.dumps(config_for(shared_emulator)))
    code = ("import multiprocessing.resource_tracker\n"  # what boto3 imports when it is installed
            "from source_sentry.run import run\n"
            f"run(['discover', '--config', {str(config_path)!r}])\n")

    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60)

    (catalog,) = [json.loads(line)["catalog"] for line in run.stdout.splitlines() if line.startswith('{"type":"CATALOG"')]
    assert [stream["name"] for stream in catalog["streams"] if not stream["json_schema"].get("properties")] == []
