"""Home Office reference records: where screening looks a person up.

Two sources, chosen by `MVP_RECORDS_SOURCE`: the Postgres tables that `mvp records load` fills
(the default), or an HTTP records service:

    POST {MVP_RECORDS_URL}/lookup   {"home_office_ref", "family_name", "given_names", "date_of_birth"}
    200 {"immigration_status": <record or null>, "criminal_record": <record or null>}

A person is matched by `home_office_ref` when the referral has one (however it is written), else by exact
family name, given names and date of birth; a record found by reference counts only when its family name
and date of birth agree with the referral (PROTOCOL.md §4). A reference that neither table has (mistyped,
or not the Home Office's) falls back to the name and date of birth, so a mistyped reference does not hide
the person's records; two people alike are still no safe match.
"""

from __future__ import annotations

from typing import Protocol, TypeVar

import httpx
from sqlalchemy import Engine, select
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import Session
from temporalio import activity

from models.messages import LookUpPerson, RecordsFound
from models.records import CriminalRecord, ImmigrationStatusRecord, RecordsFile
from models.tables import CriminalRecordRow, ImmigrationStatusRow
from protocol.identity import Identity, canonical_reference, disagreements

Row = TypeVar("Row", ImmigrationStatusRow, CriminalRecordRow)


class RecordsSource(Protocol):
    def look_up(self, person: LookUpPerson) -> RecordsFound: ...


class PostgresRecords:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def look_up(self, person: LookUpPerson) -> RecordsFound:
        with Session(self.engine) as session:
            ref = person.home_office_ref
            if (
                ref
                and self._by_reference(session, ImmigrationStatusRow, ref) is None
                and self._by_reference(session, CriminalRecordRow, ref) is None
            ):
                person = person.model_copy(update={"home_office_ref": None})  # unknown: by name and birth
            status = self._match(session, ImmigrationStatusRow, person)
            crime = self._match(session, CriminalRecordRow, person)
            return RecordsFound(
                immigration_status=ImmigrationStatusRecord.model_validate(status.model_dump())
                if status
                else None,
                criminal_record=CriminalRecord.model_validate(crime.model_dump()) if crime else None,
            )

    @staticmethod
    def _by_reference(session: Session, table: type[Row], reference: str) -> Row | None:
        """The record of a reference however it is written (`HO-0918…` is `HO918…`)."""
        found = session.get(table, reference)
        if found is not None:
            return found
        wanted = canonical_reference(reference)
        refs = session.execute(select(table.home_office_ref)).scalars()  # type: ignore[call-overload]
        same = [r for r in refs if canonical_reference(r) == wanted]
        return session.get(table, same[0]) if len(same) == 1 else None

    @staticmethod
    def _match(session: Session, table: type[Row], person: LookUpPerson) -> Row | None:
        if person.home_office_ref:
            return PostgresRecords._by_reference(session, table, person.home_office_ref)
        rows = (
            session.execute(
                select(table).where(
                    table.family_name == person.family_name,  # type: ignore[arg-type]
                    table.given_names == person.given_names,  # type: ignore[arg-type]
                    table.date_of_birth == person.date_of_birth,  # type: ignore[arg-type]
                )
            )
            .scalars()
            .all()
        )
        return rows[0] if len(rows) == 1 else None  # two people alike: no safe match


class HttpRecords:
    def __init__(self, client: httpx.Client, base_url: str) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")

    def look_up(self, person: LookUpPerson) -> RecordsFound:
        response = self.client.post(
            f"{self.base_url}/lookup", json=person.model_dump(mode="json"), timeout=10.0
        )
        response.raise_for_status()
        return RecordsFound.model_validate(response.json())


class RecordsActivities:
    def __init__(self, source: RecordsSource) -> None:
        self.source = source

    @activity.defn
    def look_up_person(self, person: LookUpPerson) -> RecordsFound:
        """The person's records, from either source. Records found by the referral's reference count only
        when family name and date of birth agree with the referral (`protocol.identity.disagreements`);
        otherwise none is used and `reference_mismatch` says what disagreed (PROTOCOL.md §4)."""
        found = self.source.look_up(person)
        if not person.home_office_ref:
            return found
        referral = Identity(person.family_name, person.given_names, person.date_of_birth)
        disagreed: set[str] = set()
        for record in (found.immigration_status, found.criminal_record):
            if record is not None:
                disagreed.update(
                    disagreements(
                        referral, Identity(record.family_name, record.given_names, record.date_of_birth)
                    )
                )
        if not disagreed:
            return found
        return RecordsFound(
            immigration_status=None,
            criminal_record=None,
            reference_mismatch=[f for f in ("family name", "date of birth") if f in disagreed],
        )


def load_records(engine: Engine, records: RecordsFile) -> tuple[int, int]:
    """Load (or refresh) Home Office reference records in one transaction. Returns the counts."""
    with Session(engine) as session, session.begin():
        for status in records.immigration_status:
            values = status.model_dump(mode="json")
            session.execute(
                insert(ImmigrationStatusRow)
                .values(**values)
                .on_conflict_do_update(index_elements=["home_office_ref"], set_=values)
            )
        for crime in records.criminal_records:
            values = crime.model_dump(mode="json")
            session.execute(
                insert(CriminalRecordRow)
                .values(**values)
                .on_conflict_do_update(index_elements=["home_office_ref"], set_=values)
            )
    return len(records.immigration_status), len(records.criminal_records)
