"""Process content from uploads or JSON: BPMN, DMN files and stored decision test cases, checked
before anything is stored, with errors that name the file."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import UploadFile
from lxml import etree

from ...processes import ProcessDefinitionError, load_process
from ...processes.linking import LinkError, links_from_bpmn
from ...processes.versioning import ProcessContent
from ...rules import DmnError, parse_dmn
from ...rules.rule_cases import CaseFileError, parse_cases
from ..errors import bad_request

MAX_DOCUMENT_BYTES = 5 * 1024 * 1024  # one BPMN/DMN/test file; far above any real model
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"


@dataclass(frozen=True)
class Content:
    bpmn: str
    dmn: dict[str, str]
    rule_cases: dict[str, Any]
    key: str  # the BPMN process id
    name: str

    @property
    def process_content(self) -> ProcessContent:
        return ProcessContent.of(self.bpmn, self.dmn)

    @property
    def digest(self) -> str:
        return self.process_content.digest

    def fingerprint(self) -> dict[str, Any]:
        def sha(text: str) -> str:
            return hashlib.sha256(text.encode()).hexdigest()

        return {
            "bpmn": sha(self.bpmn),
            "dmn": {k: sha(v) for k, v in self.dmn.items()},
            "rule_cases": sha(json.dumps(self.rule_cases, sort_keys=True)),
        }


def _text(raw: bytes, field: str) -> str:
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise bad_request(field, f"larger than {MAX_DOCUMENT_BYTES // (1024 * 1024)} MiB")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise bad_request(field, f"not UTF-8 text: {exc.reason} at byte {exc.start}") from exc
    if "\x00" in text:
        raise bad_request(field, "contains a NUL character")
    return text


def read_upload(upload: UploadFile, field: str) -> tuple[str, str]:
    """(file name, text) of an uploaded file."""
    return (upload.filename or "").strip(), _text(upload.file.read(MAX_DOCUMENT_BYTES + 1), field)


def _named(files: list[tuple[str, str]], field: str, suffix: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for i, (name, text) in enumerate(files, start=1):
        name = name or f"file-{i}{suffix}"
        if name in out:
            raise bad_request(field, f"two files are named {name!r}")
        out[name] = text
    return out


def check_content(
    bpmn: str,
    dmn: Mapping[str, str],
    tests: Mapping[str, Any],
    *,
    fields: tuple[str, str, str] = ("form.bpmn", "form.dmn", "form.tests"),
) -> Content:
    """Parse every DMN file, every test case document and the BPMN (with its decisions); the first
    problem is reported naming its field and file."""
    bpmn_field, dmn_field, tests_field = fields
    for name, xml in dmn.items():
        if "\x00" in xml:
            raise bad_request(f"{dmn_field}[{name}]", "contains a NUL character")
        try:
            parse_dmn(xml, source=name)
        except DmnError as exc:
            raise bad_request(f"{dmn_field}[{name}]", str(exc)) from exc
        except Exception as exc:  # whatever a malformed upload makes the parser raise, it is the upload's fault
            raise bad_request(f"{dmn_field}[{name}]", f"not a DMN document: {exc}") from exc
    cases: dict[str, Any] = {}
    for name, doc in tests.items():
        if isinstance(doc, str):
            try:
                doc = json.loads(doc)
            except json.JSONDecodeError as exc:
                raise bad_request(f"{tests_field}[{name}]", f"not JSON: {exc}") from exc
        try:
            parse_cases(doc)
        except CaseFileError as exc:
            raise bad_request(f"{tests_field}[{name}]", str(exc)) from exc
        if "\x00" in json.dumps(doc):
            raise bad_request(f"{tests_field}[{name}]", "contains a NUL character")
        cases[name] = doc
    if "\x00" in bpmn:
        raise bad_request(bpmn_field, "contains a NUL character")
    try:
        process = load_process([bpmn], list(dmn.values()), require_linked=False)
    except ProcessDefinitionError as exc:
        raise bad_request(bpmn_field, str(exc)) from exc
    except Exception as exc:  # likewise: a parser failure on an upload is the upload's fault
        raise bad_request(bpmn_field, f"not a BPMN document: {type(exc).__name__}: {exc}") from exc
    try:
        links_from_bpmn(bpmn)
    except (LinkError, etree.XMLSyntaxError) as exc:
        raise bad_request(bpmn_field, str(exc)) from exc
    if len(process.process_id) > 255:
        raise bad_request(bpmn_field, "the process id is longer than 255 characters")
    return Content(bpmn, dict(sorted(dmn.items())), cases, process.process_id, (process.name or process.process_id)[:500])


def content_from_uploads(bpmn: UploadFile, dmn: list[UploadFile] | None, tests: list[UploadFile] | None) -> Content:
    _, bpmn_text = read_upload(bpmn, "form.bpmn")
    dmn_files = _named([read_upload(f, "form.dmn") for f in dmn or []], "form.dmn", ".dmn")
    test_files = _named([read_upload(f, "form.tests") for f in tests or []], "form.tests", ".tests.json")
    return check_content(bpmn_text, dmn_files, test_files)


def rekey_bpmn(bpmn: str, old: str, new: str) -> str:
    """The same definition under another process id (a process created from a template)."""
    root = etree.fromstring(bpmn.encode())
    for el in root.iter():
        if not isinstance(el.tag, str):
            continue
        local = etree.QName(el).localname
        if local == "process" and el.get("id") == old:
            el.set("id", new)
        for attr in ("bpmnElement", "processRef"):
            if el.get(attr) == old:
                el.set(attr, new)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8").decode()


def links_json(bpmn: str) -> list[dict[str, Any]]:
    return [
        {"caller": lk.caller, "callee": lk.callee, "policy": str(lk.policy), "activity": lk.activity}
        for lk in links_from_bpmn(bpmn)
    ]
