"""The agreements commands: coverage, assets, contracts, lines, invoices and imports.

`accord coverage TAG` answers the desk's question (is this asset covered on a day, by what,
and if not, why); `accord asset`, `accord contract` and `accord line` read and change the
book by date; `accord invoice` runs, lists, shows and exports invoices; `accord import`
brings customers, sites, assets, contracts and lines in from CSV and XLSX files.

As everywhere, reads take `--on` (valid time) and `--known-at` (recorded time), both
defaulting to now, and changes take `--from` (when they are true from) and a `--reason`
kept in the journal. Money is typed in major units (`12.34`) and kept in minor units
(pence) in the contract's currency. Each command parses its options, calls the agreements
service or queries in one unit of work, and prints: tables for people, `--json` for
scripts. The operator acts as an admin of the tenant (`--tenant`, default the only one).

`accord.cli` assembles the command tree from the functions this package exports; import
that package, not this one, first (these modules import `accord.cli.common`, whose
package imports this one).
"""

from accord.agreements.cli.assets import asset_list, asset_show, asset_take_off, coverage
from accord.agreements.cli.contracts import (
    contract_cancel,
    contract_list,
    contract_renew,
    contract_show,
    line_price,
    line_take_off,
)
from accord.agreements.cli.importing import import_files
from accord.agreements.cli.invoices import invoice_csv, invoice_list, invoice_run, invoice_show

__all__ = [
    "asset_list",
    "asset_show",
    "asset_take_off",
    "contract_cancel",
    "contract_list",
    "contract_renew",
    "contract_show",
    "coverage",
    "import_files",
    "invoice_csv",
    "invoice_list",
    "invoice_run",
    "invoice_show",
    "line_price",
    "line_take_off",
]
