"""Fuzz the whole HTTP API with schemathesis: every operation, every role, real cases.

Each operation of the app's OpenAPI document gets ``per_operation`` generated requests. Half
are *valid* cases (``reliability/fuzz_valid.py``): a positive case from the document with values
read from the database at run time (points inside the district, real type codes, ids, tracking
codes, an Open311 API key and format, a fresh Idempotency-Key) and links followed (log in, file a
report, GET the case for its ETag and allowed actions, transition it, track it), sent as a role
the run has not seen refused on that operation. The other half are positive and negative cases
by the schema alone, as a rotating role (anonymous and one user of each staff role), with path
parameters swapped, half of the time, for ids of real objects. Every operation must get its
success status (2xx) in at least :data:`SUCCESS_FLOOR` (10 %) of its cases, so the central
paths are fuzzed past their input validation; the figures give each operation's share.

Every response is checked with schemathesis' ``not_a_server_error``, ``status_code_conformance``,
``content_type_conformance``, ``response_schema_conformance`` and
``response_headers_conformance``, and scanned for mainland mobile numbers (``1[3-9]`` and nine
digits) where the role may not see them: anywhere for anonymous callers, planners and admins;
for officers, coordinators, community workers and property companies anywhere but one case's
own answers (``GET /api/v1/cases/{id}``, its events and transitions), where the server shows a
case's reporter to its handler and answers 404 to everyone else. The dispatcher sees every
reporter. The published contacts of the directory are work numbers, not personal data.

``python -m reliability.fuzz`` (``reliability/fuzz_run.py``) runs it on a database of its own
with 1,000 cases per operation (``--per-operation``), then ``reliability/fuzz_geometry.py``, and
prints the figures (``reliability/fuzz_figures.py``) as JSON. ``tests/fuzz`` is a small version.
"""

from __future__ import annotations

import contextlib
import json
import random
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from reliability.fuzz_figures import SUCCESS_FLOOR, figures
from reliability.fuzz_run import main, run
from reliability.fuzz_setup import PHONE, ROLES, Known, collect_known, log_in, prepare
from reliability.fuzz_valid import Validator, World, harvest, order

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
#: Roles that may never see a reporter's phone number in any response.
NO_PERSONAL_DATA = ("anonymous", "planner", "admin")
#: Operations that end the caller's own session: not fuzzed (tests/api covers them).
REVOKES_OWN_TOKEN = frozenset({"POST /api/v1/auth/logout"})
#: Roles that see a reporter's number only in the answers about one case they handle.
HANDLERS_ONLY = ("officer_police", "officer_urban", "town", "community", "company")
#: Those answers.
ONE_CASE = (
    "GET /api/v1/cases/{case_id}",
    "GET /api/v1/cases/{case_id}/events",
    "POST /api/v1/cases/{case_id}/transitions",
)
#: Path parameters filled, half of the time, with ids that exist.
KNOWN_PARAMETERS = {
    "case_id": "case_ids",
    "tracking_code": "tracking_codes",
    "photo_id": "photo_ids",
    "ban_id": "ban_ids",
    "meeting_id": "meeting_ids",
    "action_id": "action_ids",
    "property_area_code": "property_areas",
    "request_id": "case_ids",
}


@dataclass
class Failure:
    """One failed check: which, where, what was sent and what came back."""

    kind: str
    operation: str
    role: str
    request: str
    status: int
    body: str

    def as_dict(self) -> dict[str, Any]:
        return self.__dict__.copy()


@dataclass
class Tally:
    """What the fuzzing saw, per operation and in total."""

    cases: Counter[str] = field(default_factory=Counter)
    statuses: defaultdict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    valid_cases: Counter[str] = field(default_factory=Counter)
    #: a few answers other than 2xx to valid cases, per operation (why they missed)
    valid_misses: defaultdict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    failures: list[Failure] = field(default_factory=list)
    phone_leaks: list[Failure] = field(default_factory=list)
    responses_scanned: int = 0

    def kinds(self) -> Counter[str]:
        return Counter(f.kind for f in self.failures)

    def success_share(self, label: str) -> float:
        """The share of the operation's cases that got a 2xx."""
        ok = sum(n for s, n in self.statuses[label].items() if 200 <= s < 300)
        return ok / self.cases[label] if self.cases[label] else 0.0

    def below_floor(self, floor: float = SUCCESS_FLOOR) -> dict[str, float]:
        """Operations whose cases got a 2xx less often than ``floor``, with their share."""
        return {
            op: round(self.success_share(op), 3)
            for op in sorted(self.cases)
            if self.success_share(op) < floor
        }


def _check_name(failure: Any) -> str:
    """A failure's kind: schemathesis' code and class, e.g. ``ST103 UndefinedStatusCode``."""
    return f"{getattr(failure, 'code', '') or '?'} {type(failure).__name__}"


def _describe(case: Any) -> str:
    """The request as one short line: method, path, query, headers and body."""
    parts = [case.method.upper(), case.formatted_path]
    for label, value in (
        ("query", case.query),
        ("headers", case.headers),
        ("body", getattr(case, "body", None)),
    ):
        if value not in (None, {}, b"") and type(value).__name__ != "NotSet":  # no body
            parts.append(f"{label}={value!r}"[:2000])
    return " ".join(parts)


class Fuzzer:
    """Generate, send and check requests for every operation of one running server."""

    def __init__(
        self,
        base_url: str,
        *,
        tokens: Mapping[str, str],
        known: Known,
        per_operation: int,
        seed: int | None = None,
        timeout_s: float = 30.0,
        world: World | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.schema = schemathesis.openapi.from_url(f"{self.base_url}/openapi.json")
        self.schema.config.update(base_url=self.base_url)
        self.roles = ["anonymous", *tokens]
        self.tokens = dict(tokens)
        self.known = known
        self.per_operation = per_operation
        self.seed = seed
        self.timeout_s = timeout_s
        self.session = requests.Session()
        self.tally = Tally()
        self.validator = (
            Validator(self.base_url, world, known, self.tokens, timeout_s) if world else None
        )
        if self.validator is not None:
            self.validator.file_photos()
        #: per operation, roles refused on a valid case (not drawn again), roles that got a 2xx
        #: and roles tried: the fuzzer learns who may call what from the answers
        self.refused: defaultdict[str, set[str]] = defaultdict(set)
        self.admitted: defaultdict[str, set[str]] = defaultdict(set)
        self.tried: defaultdict[str, set[str]] = defaultdict(set)
        self.last_body = ""  # the last JSON answer, for the misses of valid cases

    def valid_role(self, label: str, rng: random.Random, scoped: bool) -> str:
        """The role of a valid case: one admitted before (three times in four), else one not
        tried yet (first those admitted on the same path's other operations, then those admitted
        most often elsewhere), else one not refused."""
        admitted = sorted(self.admitted[label])
        if admitted and rng.random() < 0.75:
            return rng.choice(admitted)
        open_ = [r for r in self.roles if r not in self.refused[label]]
        if scoped:  # an object-scoped path: refusals (404 too) may be about one object
            open_ = open_ or self.roles
        untried = [r for r in open_ if r not in self.tried[label]]
        if untried:  # first the roles let through on this path's other operations, then most
            prefix = "/".join(label.split(" ", 1)[1].split("/")[:4])
            near = Counter(
                r
                for other, roles in self.admitted.items()
                if other.split(" ", 1)[1].startswith(prefix)
                for r in roles
            )
            wins = Counter(r for roles in self.admitted.values() for r in roles)
            return min(untried, key=lambda r: (-near[r], -wins[r], self.roles.index(r)))
        return rng.choice(open_ or self.roles)

    def operations(self) -> list[Any]:
        """Every operation of the schema (a broken one raises: the spec itself is wrong)."""
        found = []
        for result in self.schema.get_all_operations():
            if isinstance(result, Err):
                raise result.err()
            found.append(result.ok())
        return found

    def run(
        self,
        report: Callable[[str], None] = print,
        *,
        only: Callable[[str], bool] | None = None,
        after: Callable[[Tally], None] | None = None,
    ) -> Tally:
        """Fuzz every operation (``only`` picks some by label); returns the tally.

        ``after`` is called with the tally so far after each operation.
        """
        for operation in sorted(self.operations(), key=lambda op: order(op.label)):
            if only is not None and not only(operation.label):
                continue
            if operation.label in REVOKES_OWN_TOKEN:  # would log the fuzzer's roles out
                continue
            started = time.perf_counter()
            self.fuzz_operation(operation)
            elapsed = time.perf_counter() - started
            bad = sum(1 for f in self.tally.failures if f.operation == operation.label)
            report(
                f"{operation.label}: {self.tally.cases[operation.label]} cases "
                f"({self.tally.valid_cases[operation.label]} valid), "
                f"{100 * self.tally.success_share(operation.label):.0f} % 2xx, "
                f"{bad} failures, {elapsed:.1f} s "
                f"{dict(sorted(self.tally.statuses[operation.label].items()))}"
            )
            if after is not None:
                after(self.tally)
        return self.tally

    def fuzz_operation(self, operation: Any) -> None:
        """Send at least ``per_operation`` generated requests to one operation."""
        label = operation.label
        modes = [schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]
        strategies = []
        for mode in modes:
            try:
                strategies.append(operation.as_strategy(generation_mode=mode))
            except Exception:  # an operation with nothing to negate has no negative strategy
                continue
        strategy = st.one_of(strategies)
        positive = strategies[0]
        known_sets = {
            name: getattr(self.known, attr)
            for name, attr in KNOWN_PARAMETERS.items()
            if getattr(self.known, attr)
        }

        @settings(
            max_examples=self.per_operation,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            suppress_health_check=list(HealthCheck),
            derandomize=self.seed is not None,
        )
        # choices that hang on what the run learnt (ids made, roles refused) come from a
        # generator seeded by hypothesis, so its own draws stay the same from case to case
        @given(valid=st.booleans(), seed=st.integers(0, 2**32 - 1), data=st.data())
        def one(valid: bool, seed: int, data: st.DataObject) -> None:
            rng = random.Random(seed)
            if self.validator is not None and valid:  # about half: valid cases
                case = data.draw(positive)
                role = self.valid_role(label, rng, "{" in operation.path)
                role = self.validator.make_valid(label, case, role, rng)
                self.tally.valid_cases[label] += 1
                status = self.send(label, case, role)
                self.tried[label].add(role)
                if 200 <= status < 300:
                    self.admitted[label].add(role)
                else:
                    misses = self.tally.valid_misses[label]
                    if len(misses) < 5:
                        misses.append(
                            f"{role} {_describe(case)[:300]} -> {status} {self.last_body[:160]}"
                        )
                # refused: 401/403, or 404 on an object the role may not see
                if status in (401, 403) or (status == 404 and "{" in operation.path):
                    self.refused[label].add(role)
                return
            case = data.draw(strategy)
            role = data.draw(st.sampled_from(self.roles))
            for name in list(case.path_parameters or {}):
                if name in known_sets and rng.random() < 0.5:
                    case.path_parameters[name] = rng.choice(known_sets[name])
            self.send(label, case, role)

        rounds = 0
        while self.tally.cases[label] < self.per_operation and rounds < self.per_operation:
            one()  # a small input space is exhausted early: draw it again as other roles
            rounds += 1

    def send(self, label: str, case: Any, role: str) -> int:
        """Send one case as ``role``, run the checks, scan the body; record what failed.

        Returns the status (0 when no answer came); ids in a success join the known ones."""
        headers = {}
        if role != "anonymous":
            headers["Authorization"] = f"Bearer {self.tokens[role]}"
        try:
            response = case.call(session=self.session, headers=headers, timeout=self.timeout_s)
        except requests.RequestException as exc:
            self.tally.cases[label] += 1
            self.tally.failures.append(
                Failure("network_error", label, role, _describe(case), 0, str(exc)[:300])
            )
            return 0
        self.tally.cases[label] += 1
        self.tally.statuses[label][response.status_code] += 1
        body = response.content.decode("utf-8", errors="replace") if response.content else ""
        self.last_body = body if body.startswith("{") else ""
        try:
            case.validate_response(response, checks=CHECKS, headers=headers)
        except FailureGroup as group:
            for failure in group.exceptions:
                self.tally.failures.append(
                    Failure(
                        _check_name(failure),
                        label,
                        role,
                        _describe(case),
                        response.status_code,
                        body[:500],
                    )
                )
        self.scan(label, case, role, response.status_code, body)
        answer: Any = None
        if body.startswith("{"):
            with contextlib.suppress(ValueError):
                answer = json.loads(body)
            harvest(
                label,
                response.status_code,
                answer if answer is not None else _json_list(body),
                self.known,
                case.path_parameters or {},
                self.validator,
                role,
            )
        return int(response.status_code)

    def scan(self, label: str, case: Any, role: str, status: int, body: str) -> None:
        """Count phone numbers in a response the role may not see."""
        self.tally.responses_scanned += 1
        if role not in NO_PERSONAL_DATA + HANDLERS_ONLY or (
            role in HANDLERS_ONLY and label in ONE_CASE
        ):
            return
        leaked = [
            m
            for m in PHONE.findall(body)
            if m not in self.known.public_phones and m not in _sent_numbers(case)
        ]
        if leaked:
            self.tally.phone_leaks.append(
                Failure("phone_number", label, role, _describe(case), status, ", ".join(leaked))
            )


def _json_list(body: str) -> Any:
    """A JSON array answer, or None."""
    if body.startswith("["):
        with contextlib.suppress(ValueError):
            return json.loads(body)
    return None


def _sent_numbers(case: Any) -> set[str]:
    """Numbers the request itself carried (echoing a caller's own input back is no leak)."""
    sent = json.dumps([case.query, case.path_parameters, getattr(case, "body", None)], default=str)
    return set(PHONE.findall(sent))


__all__ = [
    "ROLES",
    "SUCCESS_FLOOR",
    "Known",
    "collect_known",
    "figures",
    "log_in",
    "main",
    "prepare",
    "run",
]

if __name__ == "__main__":
    sys.exit(main())
