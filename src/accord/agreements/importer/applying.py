"""Applying the rows: each record matched by its external key, created, changed or left
alone through the parties and agreements services, in one savepoint that a dry run rolls
back.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accord.access import Actor
from accord.agreements import queries, service
from accord.agreements.importer.columns import FIELD_COLUMNS, KINDS
from accord.agreements.importer.reading import Row, one_of, read_sources, rows_of, to_minor
from accord.agreements.importer.report import Problem, ProgressFn, Report
from accord.agreements.models import Asset, Contract, ContractLine, ServiceLevel
from accord.agreements.schemas import (
    AssetCreate,
    AssetUpdate,
    ContractCreate,
    ContractUpdate,
    LineCreate,
    LineUpdate,
)
from accord.errors import Invalid, NotFound, parse
from accord.parties import queries as parties_queries
from accord.parties import service as parties
from accord.parties.schemas import CustomerCreate, CustomerUpdate, SiteCreate, SiteUpdate
from accord.store.db import FOREVER, utcnow
from accord.store.temporal import AsOf, Versioned

M = TypeVar("M", bound=BaseModel)

# --- the import ---------------------------------------------------------------------------------


def _key(kind: str, row: Row) -> tuple[str, ...]:
    """The row's external key; case-insensitive where Accord matches it so."""
    g = row.get
    match kind:
        case "customers":
            return (str(g("code")).upper(),)
        case "sites":
            return (str(g("customer_code")).upper(), str(g("name")).casefold())
        case "assets":
            return (str(g("tag")).casefold(),)
        case "contracts":
            return (str(g("reference")),)
        case _:
            return (str(g("external_key")),)


_KEY_COLUMN = {
    "customers": "code",
    "sites": "name",
    "assets": "tag",
    "contracts": "reference",
    "lines": "external_key",
}


class _Failed(Exception):
    """A row cannot be imported; its problems are already in the report."""


def run_import(
    session: Session,
    *,
    actor: Actor,
    paths: Sequence[Path],
    apply: bool = False,
    changes_from: datetime | None = None,
    progress: ProgressFn | None = None,
) -> Report:
    """Import the files: a dry run unless `apply`; all or nothing either way.

    Records are matched by their external keys. New ones are created from their `from`
    column (default: today). A record whose values differ from those in the file is
    changed from `changes_from` (default: today, midnight UTC) or its start if later, with
    the reason "import FILE"; one whose values are the same is not touched. Everything
    runs inside a savepoint that is kept only when `apply` is set and there is no problem,
    so the caller commits the session as usual and a dry run leaves no trace.
    """
    sheets, problems = read_sources(paths)
    report = Report(problems=problems)
    rows: dict[str, list[Row]] = defaultdict(list)
    for sheet in sheets:
        found = rows_of(sheet, report.problems)
        if found is not None:
            rows[sheet.kind] += found
    report.rows = sum(len(v) for v in rows.values())
    today = datetime.combine(utcnow().date(), time(0), tzinfo=UTC)
    work = _Import(session, actor, report, changes_from or today, today, rows)
    savepoint = session.begin_nested()
    try:
        work.run(progress)
    except BaseException:
        savepoint.rollback()
        raise
    order = {s.label: i for i, s in enumerate(sheets)}
    report.problems.sort(key=lambda p: (order.get(p.file, -1), p.row, p.column))
    if apply and report.ok:
        savepoint.commit()
        report.applied = True
    else:
        savepoint.rollback()
    return report


class _Import:
    def __init__(
        self,
        session: Session,
        actor: Actor,
        report: Report,
        changes_from: datetime,
        today: datetime,
        rows: Mapping[str, list[Row]],
    ) -> None:
        self.s = session
        self.actor = actor
        self.report = report
        self.changes_from = changes_from
        self.today = today
        self.rows = rows
        #: entity ids of the records this import created or matched, by kind and key
        self.ids: dict[str, dict[tuple[str, ...], str]] = defaultdict(dict)
        #: the rows that could not be imported, by kind and key: (file, row)
        self.failed: dict[str, dict[tuple[str, ...], tuple[str, int]]] = defaultdict(dict)
        self.contract_starts: dict[str, datetime] = {}
        self._levels: dict[str, list[ServiceLevel]] | None = None
        self._contracts: dict[str, Contract] = {}

    # --- the run -------------------------------------------------------------------------------

    def run(self, progress: ProgressFn | None) -> None:
        total, done = self.report.rows, 0
        handlers = {
            "customers": self.customer,
            "sites": self.site,
            "assets": self.asset,
            "contracts": self.contract,
            "lines": self.line,
        }
        for kind in KINDS:
            rows = self.rows.get(kind, [])
            good = self._unique(kind, rows)
            self._prefetch(kind, good)
            chosen = {id(r) for r in good}
            for row in rows:
                if id(row) in chosen:
                    self._one(kind, row, handlers[kind])
                elif not row.ok:  # bad cells: its dependants are told why they fail
                    self.failed[kind].setdefault(_key(kind, row), (row.sheet.label, row.number))
                # else a duplicate key: reported, and the first row with the key stands
                done += 1
                if progress is not None:
                    progress(done, total)

    def _unique(self, kind: str, rows: list[Row]) -> list[Row]:
        """The rows with good cells whose key no other row has; the rest are problems."""
        good = [r for r in rows if r.ok]
        first: dict[tuple[str, ...], Row] = {}
        out: list[Row] = []
        for r in good:
            key = _key(kind, r)
            other = first.get(key)
            if other is None:
                first[key] = r
                out.append(r)
                continue
            self._problem(r, _KEY_COLUMN[kind], f"duplicate: {_where(other, r)} has the same key")
        if kind in ("sites", "assets"):  # their external key is a key too
            keys: dict[str, Row] = {}
            for r in list(out):
                k = r.get("external_key")
                if k is None:
                    continue
                other = keys.setdefault(k, r)
                if other is not r:
                    where = _where(other, r)
                    self._problem(r, "external_key", f"duplicate: {where} has the same key")
                    out.remove(r)
        return out

    def _one(self, kind: str, row: Row, handler: Callable[[Row], str]) -> None:
        savepoint = self.s.begin_nested()
        try:
            outcome = handler(row)
        except _Failed:
            savepoint.rollback()
            self.failed[kind][_key(kind, row)] = (row.sheet.label, row.number)
            return
        except Invalid as exc:
            savepoint.rollback()
            columns = FIELD_COLUMNS[kind]
            for f, reason in exc.problems:
                column = columns.get(f.split(".", 1)[0], f.split(".", 1)[0])
                column = "" if column == "body" else column
                self._problem(row, column, reason)
            self.failed[kind][_key(kind, row)] = (row.sheet.label, row.number)
            return
        except NotFound as exc:
            savepoint.rollback()
            self._problem(row, "", str(exc))
            self.failed[kind][_key(kind, row)] = (row.sheet.label, row.number)
            return
        except BaseException:
            savepoint.rollback()
            raise
        savepoint.commit()
        counts = self.report.counts[kind]
        setattr(counts, outcome, getattr(counts, outcome) + 1)

    def _problem(self, row: Row, column: str, problem: str) -> None:
        self.report.problems.append(Problem(row.sheet.label, row.number, column, problem))

    def _fail(self, row: Row, column: str, problem: str) -> _Failed:
        self._problem(row, column, problem)
        return _Failed()

    # --- references ----------------------------------------------------------------------------

    def _missing(
        self, row: Row, column: str, kind: str, key: tuple[str, ...], what: str
    ) -> _Failed:
        where = self.failed[kind].get(key)
        if where is not None:
            return self._fail(
                row, column, f"{what}: its row ({where[0]} row {where[1]}) has problems"
            )
        return self._fail(row, column, f"{what} is neither on record nor in the import")

    def _when(self, *more: datetime | None) -> list[AsOf]:
        now = utcnow()
        days = [self.changes_from, now, *(d for d in more if d is not None)]
        return [AsOf(d, now) for d in dict.fromkeys(days)]

    def _customer_on_record(self, code: str, *days: datetime | None) -> Any:
        """The customer with this account code (a parties Customer), or None."""
        for when in self._when(*days):
            seen = 0
            while True:  # the search also matches names and emails: page to the exact code
                found, total = parties_queries.list_customers(
                    self.s, actor=self.actor, when=when, q=code, limit=500, offset=seen
                )
                exact = [c for c in found if c.code == code]
                if exact:
                    return exact[0]
                seen += len(found)
                if not found or seen >= total:
                    break
        return None

    def _customer_id(self, row: Row, column: str = "customer_code") -> str:
        code = str(row.get(column)).upper()
        key = (code,)
        if key in self.ids["customers"]:
            return self.ids["customers"][key]
        found = self._customer_on_record(code)
        if found is None:
            raise self._missing(row, column, "customers", key, f"customer {code}")
        entity_id: str = found.entity_id
        self.ids["customers"][key] = entity_id
        return entity_id

    def _site_on_record(self, customer_id: str, name: str, *days: datetime | None) -> Any:
        """The customer's site of this name (a parties Site), or None."""
        for when in self._when(*days):
            try:
                sites = parties_queries.sites_of(self.s, self.actor, customer_id, when=when)
            except NotFound:
                continue
            exact = [x for x in sites if x.name.casefold() == name.casefold()]
            if exact:
                return exact[0]
        return None

    def _site_id(self, row: Row, code: str, customer_id: str, column: str = "site") -> str:
        name = str(row.get(column))
        key = (code, name.casefold())
        if key in self.ids["sites"]:
            return self.ids["sites"][key]
        found = self._site_on_record(customer_id, name)
        if found is None:
            raise self._missing(row, column, "sites", key, f"site {name!r} of customer {code}")
        entity_id: str = found.entity_id
        self.ids["sites"][key] = entity_id
        return entity_id

    def _level_id(self, row: Row) -> str:
        if self._levels is None:
            self._levels = defaultdict(list)
            for lv in queries.list_service_levels(self.s, actor=self.actor, when=AsOf.now()):
                self._levels[lv.name.casefold()].append(lv)
        name = str(row.get("service_level"))
        found = self._levels.get(name.casefold(), [])
        if not found:
            known = one_of(sorted({v[0].name for v in self._levels.values()})) or "none yet"
            raise self._fail(row, "service_level", f"no service level {name!r} (known: {known})")
        if len({lv.entity_id for lv in found}) > 1:
            raise self._fail(row, "service_level", f"more than one service level is named {name!r}")
        return found[0].entity_id

    # --- matching records already on file --------------------------------------------------------

    def _prefetch(self, kind: str, rows: list[Row]) -> None:
        """Find in bulk which rows' records are already on file (by their external keys)."""
        self._on_file: dict[tuple[str, ...], list[str]] = defaultdict(list)
        self._by_external: dict[str, list[str]] = defaultdict(list)
        self._sites_keyed: dict[str, list[Any]] = {}
        if kind == "sites":
            keys = sorted({r.get("external_key") for r in rows if r.get("external_key")})
            if keys:
                self._sites_keyed = parties_queries.sites_by_external_key(
                    self.s, self.actor, keys, on=self.changes_from
                )
        elif kind == "assets":
            tags = sorted({str(r.get("tag")).casefold() for r in rows})
            for chunk in _chunks(tags):
                stmt = self._known(Asset, func.lower(Asset.tag).in_(chunk))
                for entity_id, tag in self.s.execute(stmt.add_columns(Asset.tag)):
                    self._add((tag.casefold(),), entity_id)
            keys = sorted({r.get("external_key") for r in rows if r.get("external_key")})
            for chunk in _chunks(keys):
                stmt = self._known(Asset, Asset.external_key.in_(chunk))
                for entity_id, key in self.s.execute(stmt.add_columns(Asset.external_key)):
                    if entity_id not in self._by_external[key]:
                        self._by_external[key].append(entity_id)
        elif kind == "lines":
            keys = sorted({str(r.get("external_key")) for r in rows})
            for chunk in _chunks(keys):
                stmt = self._known(ContractLine, ContractLine.external_key.in_(chunk))
                for entity_id, key in self.s.execute(stmt.add_columns(ContractLine.external_key)):
                    self._add((key,), entity_id)

    def _known(self, model: type[Asset] | type[ContractLine], cond: Any) -> Any:
        """Entity ids of every version known now that meets `cond` (the caller adds a column)."""
        return (
            select(model.entity_id)
            .where(model.tenant_id == self.actor.tenant_id, model.recorded_to == FOREVER, cond)
            .distinct()
        )

    def _add(self, key: tuple[str, ...], entity_id: str) -> None:
        if entity_id not in self._on_file[key]:
            self._on_file[key].append(entity_id)

    def _match(self, row: Row, column: str, ids: list[str], what: str) -> str | None:
        if len(ids) > 1:
            raise self._fail(row, column, f"more than one {what} on record has this key")
        return ids[0] if ids else None

    def _version(self, model: type[Versioned], entity_id: str) -> Any:
        """The record as of the day changes take effect (as known now); else its nearest
        version: the first, when it starts later; the last, when it has ended."""
        when = AsOf(self.changes_from, utcnow())
        match model.entity_type:
            case "asset":
                return queries.get_asset_for(self.s, self.actor, entity_id, when)
            case "contract":
                return queries.get_contract_for(self.s, self.actor, entity_id, when)
            case _:
                return queries.get_line_for(self.s, self.actor, entity_id, when)

    def _effective(self, version: Versioned) -> datetime:
        return max(self.changes_from, version.valid_from)

    def _changed(
        self,
        row: Row,
        schema: type[M],
        record: Any,
        given: Mapping[str, Any],
        extra: Mapping[str, Any],
        kind: str,
    ) -> M | None:
        """An update of only the fields whose (validated) values in the file differ from the
        record's; None when none do."""
        if not given:
            return None
        probe = _parse(schema, {**given, **extra}, kind, row, self)
        differ = {
            f: given[f] for f in given if _plain(getattr(probe, f)) != _plain(getattr(record, f))
        }
        if not differ:
            return None
        return _parse(schema, {**differ, **extra}, kind, row, self)

    # --- one row of each kind -----------------------------------------------------------------

    def customer(self, row: Row) -> str:
        code = str(row.get("code")).upper()
        fields = ("name", "status", "email", "phone", "notes")
        record = self._customer_on_record(code, row.get("from"))
        if record is None:
            data = _parse(
                CustomerCreate,
                {
                    "code": code,
                    **{f: row.get(f) for f in fields if row.get(f) is not None},
                    "effective": row.get("from") or self.today,
                    "reason": row.reason,
                },
                "customers",
                row,
                self,
            )
            self.ids["customers"][(code,)] = parties.create_customer(
                self.s, actor=self.actor, data=data
            )
            return "created"
        self.ids["customers"][(code,)] = record.entity_id
        given = {f: row.get(f) for f in fields if row.has(f)}
        extra = {"effective": self._effective(record), "reason": row.reason}
        update = self._changed(row, CustomerUpdate, record, given, extra, "customers")
        if update is None:
            return "unchanged"
        with _changing(update):
            parties.change_customer(
                self.s, actor=self.actor, customer_id=record.entity_id, data=update
            )
        return "changed"

    def site(self, row: Row) -> str:
        code = str(row.get("customer_code")).upper()
        customer_id = self._customer_id(row)
        name = str(row.get("name"))
        key = (code, name.casefold())
        fields = ("address", "city", "postcode", "country")
        external = row.get("external_key")
        record = None
        if external:  # matched by its key, whatever it is called now
            found = self._sites_keyed.get(external, [])
            if len(found) > 1:
                raise self._fail(row, "external_key", "more than one site on record has this key")
            record = found[0] if found else None
            if record is not None and record.customer_id != customer_id:
                raise self._fail(
                    row,
                    "customer_code",
                    f"the site with this key ({record.name}) is on record for another "
                    "customer: an import cannot move it",
                )
        by_key = record is not None
        if record is None:
            record = self._site_on_record(customer_id, name, row.get("from"))
            if record is not None and external and record.external_key not in (None, external):
                raise self._fail(
                    row,
                    "external_key",
                    f"the site {record.name} has the external key {record.external_key} on record",
                )
        if record is None:
            data = _parse(
                SiteCreate,
                {
                    "name": name,
                    **{f: row.get(f) for f in (*fields, "external_key") if row.get(f) is not None},
                    "effective": row.get("from") or self.today,
                    "reason": row.reason,
                },
                "sites",
                row,
                self,
            )
            self.ids["sites"][key] = parties.add_site(
                self.s, actor=self.actor, customer_id=customer_id, data=data
            )
            return "created"
        self.ids["sites"][key] = record.entity_id
        given = {f: row.get(f) for f in fields if row.has(f)}
        if by_key and record.name != name:
            given["name"] = name  # matched by its key: renamed
        if external:
            given["external_key"] = external  # a site matched by name takes the key
        extra = {"effective": self._effective(record), "reason": row.reason}
        update = self._changed(row, SiteUpdate, record, given, extra, "sites")
        if update is None:
            return "unchanged"
        with _changing(update):
            parties.change_site(self.s, actor=self.actor, site_id=record.entity_id, data=update)
        return "changed"

    def asset(self, row: Row) -> str:
        code = str(row.get("customer_code")).upper()
        customer_id = self._customer_id(row)
        site_id = self._site_id(row, code, customer_id) if row.get("site") else None
        tag = str(row.get("tag"))
        external = row.get("external_key")
        entity_id = None
        if external:
            entity_id = self._match(
                row, "external_key", self._by_external.get(external, []), "asset"
            )
        if entity_id is None:
            entity_id = self._match(row, "tag", self._on_file.get((tag.casefold(),), []), "asset")
        fields = ("serial", "asset_type", "make", "model", "status")
        if entity_id is None:
            data = _parse(
                AssetCreate,
                {
                    "customer_id": customer_id,
                    "site_id": site_id,
                    "tag": tag,
                    **{f: row.get(f) for f in (*fields, "external_key") if row.get(f) is not None},
                    "effective": row.get("from") or self.today,
                    "reason": row.reason,
                },
                "assets",
                row,
                self,
            )
            self.ids["assets"][(tag.casefold(),)] = service.add_asset(
                self.s, actor=self.actor, data=data
            )
            return "created"
        record = self._version(Asset, entity_id)
        self.ids["assets"][(tag.casefold(),)] = entity_id
        if record.customer_id != customer_id:
            raise self._fail(
                row,
                "customer_code",
                "the asset is on record for another customer: an import cannot move it",
            )
        if external and record.external_key not in (None, external):
            raise self._fail(
                row, "external_key", f"the asset {record.tag} has the external key "
                f"{record.external_key} on record",
            )  # fmt: skip
        given: dict[str, Any] = {f: row.get(f) for f in fields if row.has(f)}
        if row.has("site"):
            given["site_id"] = site_id
        if record.tag != tag:
            given["tag"] = tag  # matched by external key: the tag changed
        if external and record.external_key is None:
            given["external_key"] = external  # matched by tag: it takes the key given
        extra = {"effective": self._effective(record), "reason": row.reason}
        update = self._changed(row, AssetUpdate, record, given, extra, "assets")
        if update is None:
            return "unchanged"
        with _changing(update):
            service.change_asset(self.s, actor=self.actor, asset_id=entity_id, data=update)
        return "changed"

    def contract(self, row: Row) -> str:
        customer_id = self._customer_id(row)
        reference = str(row.get("reference"))
        optional = ("term_end", "renewal_months", "notice_days", "billing_period", "currency")
        record = queries.contract_by_reference(self.s, self.actor, reference)
        if record is None:
            data = _parse(
                ContractCreate,
                {
                    "customer_id": customer_id,
                    "reference": reference,
                    "title": row.get("title"),
                    "start": row.get("start"),
                    **{f: row.get(f) for f in optional if row.get(f) is not None},
                    "reason": row.reason,
                },
                "contracts",
                row,
                self,
            )
            contract_id = service.create_contract(self.s, actor=self.actor, data=data)
            self.ids["contracts"][(reference,)] = contract_id
            self.contract_starts[contract_id] = data.start
            return "created"
        contract_id = record.entity_id
        self.ids["contracts"][(reference,)] = contract_id
        periods = queries.contract_periods(self.s, self.actor, contract_id, known_at=utcnow())
        self.contract_starts[contract_id] = periods[0].valid_from if periods else record.start
        record = self._version(Contract, contract_id)
        last = periods[-1] if periods else record  # renewals extend the term from its end
        fixed = {
            "customer_code": (customer_id, record.customer_id),
            "start": (row.get("start"), record.start),
            "billing_period": (row.get("billing_period"), record.billing_period),
            "currency": (row.get("currency"), record.currency),
            "term_end": (row.get("term_end"), last.term_end),
        }
        failed = False
        for column, (mine, theirs) in fixed.items():
            if not row.has(column) or mine == theirs:
                continue
            if column in ("billing_period", "currency") and mine is None:
                continue  # left empty: the default, as on record
            shown = _shown(theirs) if column != "customer_code" else "another customer"
            hint = " (renew or cancel it instead)" if column == "term_end" else ""
            self._problem(
                row, column, f"differs from the record ({shown}): an import cannot change it{hint}"
            )
            failed = True
        if failed:
            raise _Failed()
        given = {f: row.get(f) for f in ("title", "notice_days", "renewal_months") if row.has(f)}
        if given.get("notice_days") is None and "notice_days" in given:
            given.pop("notice_days")  # empty: the default, nothing to compare
        extra = {"effective": self._effective(record), "reason": row.reason}
        update = self._changed(row, ContractUpdate, record, given, extra, "contracts")
        if update is None:
            return "unchanged"
        with _changing(update):
            service.change_contract(self.s, actor=self.actor, contract_id=contract_id, data=update)
        return "changed"

    def line(self, row: Row) -> str:
        reference = str(row.get("contract"))
        contract_id = self.ids["contracts"].get((reference,))
        if contract_id is None:
            found = queries.contract_by_reference(self.s, self.actor, reference)
            if found is None:
                raise self._missing(
                    row, "contract", "contracts", (reference,), f"contract {reference}"
                )
            contract_id = found.entity_id
            periods = queries.contract_periods(self.s, self.actor, contract_id, known_at=utcnow())
            self.contract_starts[contract_id] = periods[0].valid_from if periods else found.start
            self.ids["contracts"][(reference,)] = contract_id
        contract = self._contracts.get(contract_id)
        if contract is None:  # the lines of one contract share it: read it once
            contract = queries.get_contract_for(self.s, self.actor, contract_id)
            self._contracts[contract_id] = contract
        currency = contract.currency
        try:
            price = to_minor(row.get("price"), currency)
        except ValueError as exc:
            raise self._fail(row, "price", str(exc)) from None
        level_id = self._level_id(row)
        tag, site, asset_type = row.get("asset_tag"), row.get("site"), row.get("asset_type")
        asset_id = site_id = None
        if tag is not None:
            if site is not None or asset_type is not None:
                raise self._fail(
                    row, "asset_tag", "give asset_tag, or site with asset_type, not both"
                )
            asset_id = self.ids["assets"].get((str(tag).casefold(),))
            if asset_id is None:
                ids = self._assets_tagged(str(tag))
                asset_id = self._match(row, "asset_tag", ids, "asset")
            if asset_id is None:
                raise self._missing(
                    row, "asset_tag", "assets", (str(tag).casefold(),), f"asset {tag}"
                )
        elif site is not None and asset_type is not None:
            customer = self._customer_code(contract.customer_id)
            site_id = self._site_id(row, customer, contract.customer_id)
        else:
            raise self._fail(
                row, "asset_tag", "give asset_tag, or site and asset_type (every such asset there)"
            )
        external = str(row.get("external_key"))
        entity_id = self._match(row, "external_key", self._on_file.get((external,), []), "line")
        if entity_id is None:
            data = _parse(
                LineCreate,
                {
                    "asset_id": asset_id,
                    "site_id": site_id,
                    "asset_type": asset_type,
                    "service_level_id": level_id,
                    "price": price,
                    "budget_minutes": row.get("budget_hours") or 0,
                    "until": row.get("until"),
                    "external_key": external,
                    "effective": row.get("from") or self.contract_starts[contract_id],
                    "reason": row.reason,
                },
                "lines",
                row,
                self,
            )
            service.add_line(self.s, actor=self.actor, contract_id=contract_id, data=data)
            return "created"
        record = self._version(ContractLine, entity_id)
        covers = {
            "contract": (contract_id, record.contract_id),
            "asset_tag": (asset_id, record.asset_id),
            "site": (site_id, record.site_id),
            "asset_type": (asset_type, record.asset_type),
        }
        failed = False
        for column, (mine, theirs) in covers.items():
            if mine != theirs:
                self._problem(
                    row,
                    column,
                    "differs from the line on record: an import cannot change what a line "
                    "covers (end it and add a new line)",
                )
                failed = True
        if row.has("until"):
            spans = queries.line_periods(self.s, self.actor, entity_id, known_at=utcnow())
            end = spans[-1].valid_to if spans else FOREVER
            mine = row.get("until") or FOREVER
            if mine != end:
                self._problem(
                    row,
                    "until",
                    f"differs from the record ({_shown(end)}): an import cannot change it "
                    "(take the line off instead)",
                )
                failed = True
        if failed:
            raise _Failed()
        given: dict[str, Any] = {"service_level_id": level_id, "price": price}
        if row.has("budget_hours"):
            given["budget_minutes"] = row.get("budget_hours") or 0
        extra = {"effective": self._effective(record), "reason": row.reason}
        update = self._changed(row, LineUpdate, record, given, extra, "lines")
        if update is None:
            return "unchanged"
        with _changing(update):
            service.change_line(self.s, actor=self.actor, line_id=entity_id, data=update)
        return "changed"

    def _assets_tagged(self, tag: str) -> list[str]:
        stmt = self._known(Asset, func.lower(Asset.tag) == tag.casefold())
        return list(dict.fromkeys(self.s.scalars(stmt)))

    def _customer_code(self, customer_id: str) -> str:
        for key, value in self.ids["customers"].items():
            if value == customer_id:
                return key[0]
        customer = parties_queries.get_customer_for(self.s, self.actor, customer_id)
        return customer.code


# --- helpers ---------------------------------------------------------------------------------


def _where(other: Row, row: Row) -> str:
    """Where the first row with a key is, as seen from a later one with the same key."""
    where = f"row {other.number}"
    if other.sheet is not row.sheet:
        where += f" of {other.sheet.label}"
    return where


def _parse(schema: type[M], data: Mapping[str, Any], kind: str, row: Row, work: _Import) -> M:
    """Validate a row's values against a schema, naming any problem by its column."""
    try:
        return parse(schema, dict(data))
    except Invalid as exc:
        columns = FIELD_COLUMNS[kind]
        for f, reason in exc.problems:
            name = f.split(".", 1)[0]
            column = columns.get(name, name)
            work._problem(row, "" if column == "body" else column, reason)
        raise _Failed() from None


@contextmanager
def _changing(update: Any) -> Iterator[None]:
    """A change's date is the import's (--from), not a column: say so, against the row."""
    try:
        yield
    except Invalid as exc:
        day = f"{update.effective:%Y-%m-%d}"
        raise Invalid(
            [
                ("", f"changing it from {day}: {r}") if f == "effective" else (f, r)
                for f, r in exc.problems
            ]
        ) from None


def _plain(value: Any) -> Any:
    """A value as compared: enums as their text."""
    if isinstance(value, str):
        return str(value)
    return value


def _shown(value: Any) -> str:
    if value is None or value == FOREVER:
        return "none"
    if isinstance(value, datetime):
        return f"{value:%Y-%m-%d}"
    return str(value)


def _chunks(values: Sequence[Any], size: int = 500) -> Iterator[Sequence[Any]]:
    for i in range(0, len(values), size):
        yield values[i : i + size]
