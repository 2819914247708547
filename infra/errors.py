"""The service's errors. The API maps each to an HTTP status and a JSON body that carries the exit code the CLI
uses; the CLI prints the message without a traceback.

ServiceError                      anything the operator can act on                        exit 1, HTTP 500
 ├── InputError                   bad input                                               exit 2, HTTP 422
 │    └── ReferralInvalid         a referral with one or more problems, each named
 ├── Refused                      a command the protocol does not allow now               exit 3, HTTP 409
 │    ├── DuplicateReferral       the person and crime reference already have an open case
 │    ├── PossibleDuplicate       a similar person has an open case for the crime reference: override with a reason
 │    └── NotPermitted            the caller's role or force does not allow it            exit 3, HTTP 403
 ├── Unauthenticated              no valid identity                                       exit 3, HTTP 401
 ├── NotFound                     no such case                                            exit 4, HTTP 404
 │    └── CaseKeyDestroyed        the case's data key was destroyed (purged): its personal data is gone
 ├── Unavailable                  Temporal, Postgres or the worker cannot be reached      exit 5, HTTP 503
 │    └── KeysMismatch            the keys are not the ones this database's data was sealed with
 └── RecordTampered               a case record's chain or checkpoint does not verify    exit 6, HTTP 409
      └── SealedElsewhere         a sealed value was moved into another case's rows
"""

from __future__ import annotations


class ServiceError(Exception):
    """Anything the operator can act on."""

    exit_code = 1
    http_status = 500

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems or []


class InputError(ServiceError):
    """Bad input."""

    exit_code = 2
    http_status = 422


class ReferralInvalid(InputError):
    """A referral with one or more problems, each named."""

    def __init__(self, problems: list[str]) -> None:
        listed = "\n".join(f"  - {p}" for p in problems)
        super().__init__(
            f"The referral was refused ({len(problems)} problem(s)); nothing was started:\n{listed}", problems
        )


class Refused(ServiceError):
    """A command the protocol does not allow now."""

    exit_code = 3
    http_status = 409


class DuplicateReferral(Refused):
    """The person and crime reference already have an open case."""

    def __init__(self, case_id: str, message: str | None = None) -> None:
        self.case_id = case_id
        super().__init__(
            message
            or (
                f"Duplicate referral: this referral already has case {case_id}. No new case was started; "
                f"use `mvp case show {case_id}`."
            )
        )


class PossibleDuplicate(Refused):
    """A similar person already has an open case for this crime reference; an officer may start the case
    anyway only with a reason, which is recorded."""

    def __init__(self, case_ids: list[str], message: str) -> None:
        self.case_ids = case_ids
        super().__init__(f"Refused: {message}. No new case was started.")


class NotPermitted(Refused):
    """The caller's role or force does not allow this."""

    http_status = 403


class Unauthenticated(ServiceError):
    """No valid identity: no token, or one that does not verify."""

    exit_code = 3
    http_status = 401


class NotFound(ServiceError):
    """No such case."""

    exit_code = 4
    http_status = 404


class CaseKeyDestroyed(NotFound):
    """The case's data key was destroyed when it was purged (or never made): its personal data is gone."""


class Unavailable(ServiceError):
    """Temporal, Postgres or the worker cannot be reached, or settings are missing."""

    exit_code = 5
    http_status = 503


class KeysMismatch(Unavailable):
    """The keys are not the ones this database's data was sealed and keyed with: nothing may run."""


class RecordTampered(ServiceError):
    """A case record's hash chain (or its signed checkpoint) does not verify."""

    exit_code = 6
    http_status = 409


class SealedElsewhere(RecordTampered):
    """A sealed value in a case's rows belongs to another case: it was moved there, and is never opened."""
