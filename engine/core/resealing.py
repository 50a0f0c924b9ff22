"""Every sealed value re-encrypted under the current key (after `civicrules secrets rotate`), in the caller's
transaction, so a database holds values of one key and an older key can be retired once backups age out."""
from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from engine.core import keyring
from engine.core.models import Base
from engine.core.sealed_text import Cipher, SealedText


def sealed_columns() -> list[tuple[str, str, str]]:
    """(table, primary key, column) of every column stored sealed."""
    found = []
    for table in Base.metadata.sorted_tables:
        primary = [c.name for c in table.primary_key.columns]
        for column in table.columns:
            if isinstance(column.type, SealedText) and len(primary) == 1:
                found.append((table.name, primary[0], column.name))
    return found


@dataclass
class Resealed:
    key_id: str
    values: dict[str, int] = field(default_factory=dict)  # "table.column" -> values re-encrypted
    already: int = 0  # values already under the current key

    @property
    def total(self) -> int:
        return sum(self.values.values())


def reseal(session: Session, cipher: Cipher) -> Resealed:
    """Open each stored value with the key it names and seal it again with the current key and algorithm."""
    key = keyring.current(cipher.instance, keyring.SECRETS, cipher.configured)
    report = Resealed(key.id)
    for table_name, primary, column in sealed_columns():
        table = sa.table(table_name, sa.column(primary), sa.column(column, sa.Text))  # the stored text, unopened
        count = 0
        for ident, stored in session.execute(sa.select(table.c[primary], table.c[column])).all():
            if stored is None:
                continue
            if cipher.key_id(stored) == key.id and stored.startswith(f"enc:{cipher.algorithm}:"):
                report.already += 1
                continue
            session.execute(table.update().where(table.c[primary] == ident)
                            .values({column: cipher.seal(cipher.open(stored), key)}))
            count += 1
        report.values[f"{table_name}.{column}"] = count
    return report
