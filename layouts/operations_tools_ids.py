"""Component ids of the Operations sub-pages Logs and Runbooks (prefixed, one place)."""


class OpsLogs:
    SINCE = "opl-since"  # the window: minutes back from now
    LEVEL = "opl-level"
    PROCESS = "opl-process"
    REQUEST_ID = "opl-request-id"
    USER = "opl-user"
    JOB_ID = "opl-job-id"
    ORDER_ID = "opl-order-id"
    TEXT = "opl-text"
    LIMIT = "opl-limit"
    SEARCH = "opl-search"
    STATUS = "opl-status"
    GRID = "opl-grid"
    TAIL = "opl-tail"
    TAIL_INTERVAL = "opl-tail-interval"
    CURSOR = "opl-cursor"
    DETAIL = "opl-detail"


class OpsRunbooks:
    CATALOG = "opr-catalog"
    TEXT = "opr-text"
    ACTION = "opr-action"
    ENGINE_ID = "opr-engine-id"
    QUEUE = "opr-queue"
    JOB_ID = "opr-job-id"
    TOKEN_ID = "opr-token-id"
    TABLE = "opr-table"
    OPERATION = "opr-operation"
    REASON = "opr-reason"
    INCIDENT = "opr-incident"
    FIELDS = "opr-fields"  # prefix of each parameter's row: opr-fields-<param>
    DRY_RUN = "opr-dry-run"
    DRY_OUTPUT = "opr-dry-output"
    DRY_KEY = "opr-dry-key"  # what the shown dry run was for: request is enabled only for the same
    REQUEST = "opr-request"
    MESSAGE = "opr-message"
    CHANGED = "opr-changed"
    INTERVAL = "opr-interval"
    PENDING = "opr-pending"  # radio items: the request to decide
    PENDING_EMPTY = "opr-pending-empty"
    SECRET = "opr-secret"
    DECISION_NOTE = "opr-decision-note"
    APPROVE = "opr-approve"
    REJECT = "opr-reject"
    DECISION_MESSAGE = "opr-decision-message"
    HISTORY = "opr-history"
    RUN_DETAIL = "opr-run-detail"
    START = "opr-start"
