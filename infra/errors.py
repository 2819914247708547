"""The service's errors. The CLI maps each to an exit code and prints its message without a traceback.

ServiceError                      anything the operator can act on
 ├── InputError                   bad input: exit 2
 │    └── ReferralInvalid         a referral with one or more problems, each named
 ├── Refused                      a command the protocol or the caller's role does not allow: exit 3
 │    ├── DuplicateReferral       the person and crime reference already have a case
 │    └── PossibleDuplicate       a similar person has a case for the crime reference: override with a reason
 ├── NotFound                     no such case: exit 4
 └── Unavailable                  Temporal or Postgres cannot be reached, or settings are missing: exit 5
"""

from __future__ import annotations


class ServiceError(Exception):
    """Anything the operator can act on."""

    exit_code = 1


class InputError(ServiceError):
    """Bad input."""

    exit_code = 2


class ReferralInvalid(InputError):
    """A referral with one or more problems, each named."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        listed = "\n".join(f"  - {p}" for p in problems)
        super().__init__(
            f"The referral was refused ({len(problems)} problem(s)); nothing was started:\n{listed}"
        )


class Refused(ServiceError):
    """A command the protocol or the caller's role does not allow."""

    exit_code = 3


class DuplicateReferral(Refused):
    """The person and crime reference already have a case."""

    def __init__(self, case_id: str) -> None:
        self.case_id = case_id
        super().__init__(
            f"Duplicate referral: this person already has case {case_id} for this crime reference. "
            f"No new case was started; use `mvp case show {case_id}`."
        )


class PossibleDuplicate(Refused):
    """A similar person already has an open case for this crime reference; an officer may start the case
    anyway only with a reason, which is recorded."""

    def __init__(self, case_ids: list[str], message: str) -> None:
        self.case_ids = case_ids
        super().__init__(f"Refused: {message}. No new case was started.")


class NotFound(ServiceError):
    """No such case."""

    exit_code = 4


class Unavailable(ServiceError):
    """Temporal or Postgres cannot be reached, or settings are missing."""

    exit_code = 5


class RecordTampered(ServiceError):
    """A case record's hash chain is broken."""

    exit_code = 6
