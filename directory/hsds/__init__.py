"""Open Referral HSDS: the directory's one mapping to the Human Services Data
Specification (3.1; 3.0 is read too), and everything built on it.

- `mapping`: which HSDS table and column is held in which model attribute,
  what is derived on the way out, what travels in the directory's own `x_`
  files. API records, export rows and the import reader all come from it.
- `records`: HSDS objects as the API nests them; `queries`: which records
  are public, the API's parameters and paging; `openapi`: the API document.
- `reader` (files → raw tables), `values` (cells → values), `validator`
  (rows → problems), `importer` (valid rows → database), `export`
  (database → data package); `report`: problems, counts and limits.

The official schemas, descriptor and API document are in `schema/` (CC BY-SA
4.0, Open Referral; see schema/NOTICE.md).
"""
