"""Home Office reference records: where screening looks a person up.

Two sources, chosen by `MVP_RECORDS_SOURCE`: the Postgres tables that `mvp records load` fills
(the default), or an HTTP records service:

    POST {MVP_RECORDS_URL}/lookup   {"home_office_ref", "family_name", "given_names", "date_of_birth"}
    200 {"immigration_status": <record or null>, "criminal_record": <record or null>}

A person is matched by `home_office_ref` when the referral has one, else by exact family name, given
names and date of birth. A reference that neither table has (mistyped, or not the Home Office's) falls
back to the name and date of birth, so a mistyped reference does not hide the person's records; two
people alike are still no safe match.
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
                and session.get(ImmigrationStatusRow, ref) is None
                and session.get(CriminalRecordRow, ref) is None
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
    def _match(session: Session, table: type[Row], person: LookUpPerson) -> Row | None:
        if person.home_office_ref:
            return session.get(table, person.home_office_ref)
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
        return self.source.look_up(person)


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
