"""The patient record: results, history and scans over time, in SQLite or PostgreSQL.

Open a record with :func:`open_store` (schema created or upgraded by the packaged Alembic
migrations), put files in with :func:`add_files` (one transaction per file; the same content
twice changes nothing), read one patient over time with :func:`patient_view` (contract §5) and
assess the patient as known on a date with :func:`assess_patient`. The web application's users
and audit log live in the same database.
"""

from ectocalc.record._ingest import AddResult, add_case, add_files, add_scan
from ectocalc.record._rules import RecordRules, record_rules
from ectocalc.record._store import Store, default_url, open_store, schema_revision
from ectocalc.record._trends import monitoring_due
from ectocalc.record._users import (
    AuditRow,
    Role,
    UserRow,
    audit,
    audit_entries,
    create_user,
    get_user,
    list_users,
    remove_user,
    set_disabled,
    set_password_hash,
    user_key,
)
from ectocalc.record._view import (
    assess_patient,
    case_for,
    list_patients,
    patient_revision,
    patient_view,
    scans_for,
)

__all__ = [
    "AddResult",
    "AuditRow",
    "RecordRules",
    "Role",
    "Store",
    "UserRow",
    "add_case",
    "add_files",
    "add_scan",
    "assess_patient",
    "audit",
    "audit_entries",
    "case_for",
    "create_user",
    "default_url",
    "get_user",
    "list_patients",
    "list_users",
    "monitoring_due",
    "open_store",
    "patient_revision",
    "patient_view",
    "record_rules",
    "remove_user",
    "scans_for",
    "schema_revision",
    "set_disabled",
    "set_password_hash",
    "user_key",
]
