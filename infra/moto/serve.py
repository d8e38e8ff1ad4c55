"""moto_server for the local stack, changed in two ways that keep its answers
and take away costs that grow with the whole table: a TransactWriteItems call
backs up the items it names instead of whole tables, and a Query does not
sort the whole table first.

moto (5.2.5, pinned in infra/requirements.txt) deep-copies every table a
transaction touches, once per item of the transaction, so that it can roll
back a cancelled one. On a table of 10,000 people one erasure took 3.5 s, and
on 200,000 over a minute: the emulator's cost, not ours, grew with the table,
and the sweep benchmark could not measure what the issue asks for. Here a
transaction records, before moto runs it, the items it names as they were,
and when moto cancels it, puts exactly those back. Committed or cancelled,
every transaction leaves the table as moto's own code would.

moto's Table.query starts from all_items(), which sorts every item of the
table by its keys (DynamoType comparisons in Python), and then sorts the
items that match the key condition again. With 200,000 items each query took
seconds, every read of a page of recipients among them. Inside query the
first sort is dropped; the second, which alone orders the results, stays.

Started as `python serve.py -H 127.0.0.1 -p PORT`, with moto_server's flags.
"""

import copy
import sys
import threading

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models.table import Table
from moto.server import main


class _CopyWithoutTables:
    """Stands in for the copy module inside moto.dynamodb.models: a table
    "copy" is the table itself (the undo log below restores what changed),
    anything else is copied as before."""

    copy = staticmethod(copy.copy)

    @staticmethod
    def deepcopy(value, memo=None):
        if isinstance(value, Table):
            return value
        return copy.deepcopy(value, memo)


def _undo_log(backend, transact_items):
    """The items a transaction names, as they are now (None: absent)."""
    undo = []
    for entry in transact_items:
        try:
            op = next(iter(entry.values()))
            table_name = op["TableName"]
            table = backend.get_table(table_name)
            if "Key" in op:
                key = op["Key"]
            else:
                names = [n for n in (table.hash_key_attr, table.range_key_attr) if n]
                key = {n: op["Item"][n] for n in names}
            before = backend.get_item(table_name, key)
        except Exception:  # moto's own validation reports a malformed entry
            continue
        undo.append((table_name, key, None if before is None else before.to_json()["Attributes"]))
    return undo


def _rollback(backend, undo):
    for table_name, key, attrs in reversed(undo):
        if attrs is None:
            if backend.get_item(table_name, key) is not None:
                backend.delete_item(table_name, key)
        else:
            backend.put_item(table_name, copy.deepcopy(attrs))


_transact_write_items = dynamodb_models.DynamoDBBackend.transact_write_items


def transact_write_items(self, transact_items):
    undo = _undo_log(self, transact_items)
    try:
        return _transact_write_items(self, transact_items)
    except Exception:
        _rollback(self, undo)
        raise


_in_query = threading.local()
_all_items = Table.all_items
_query = Table.query


def all_items(self):
    if not getattr(_in_query, "active", False):
        return _all_items(self)
    if not self.range_key_attr:
        return list(self.items.values())
    return [item for hash_set in self.items.values() for item in hash_set.values()]


def query(self, *args, **kwargs):
    """moto's query, which orders what matches by itself."""
    _in_query.active = True
    try:
        return _query(self, *args, **kwargs)
    finally:
        _in_query.active = False


dynamodb_models.copy = _CopyWithoutTables
Table.all_items = all_items
Table.query = query
dynamodb_models.DynamoDBBackend.transact_write_items = transact_write_items

if __name__ == "__main__":
    sys.exit(main())
